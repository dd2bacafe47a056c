/* edge_proxy.detect._scan: the fast path's byte loops, in C.

   runs_clean(data) gives exactly the answer of steps 2 to 4 of fast.quick_clean (the
   Python reference, fast._runs_clean), in two passes over the bytes instead of a handful
   of translations and four base64 decodings:

     2. digits, separators (every ASCII byte neither letter nor digit) deleted: no 13 in
        a row;
     3. hex digits: no 26 in a row; base32 characters (A-Z, 2-7): no 21 in a row;
     4. (texts of 18 bytes or more) the text's base64 characters of either alphabet, all
        other bytes dropped, as one stream followed by "AAAA", decoded at each of the four
        alignments: no 13 digit-capable bytes in a row, joiners (every Latin-1 byte
        neither letter nor digit but "%") deleted; no 18 base64 characters in a row (base64
        of base64); no gzip header (1f 8b 08).

   plain_json(data) is true only when data is one JSON document that json.loads accepts
   too, with no number in exponent form (fast._plain_json, the reference): a strict
   RFC 8259 validator for ASCII that refuses more than json.loads does (NaN, Infinity,
   exponents, nesting deeper than 64, integer parts longer than 640 digits). Refusing only
   sends the body to the exact path.

   Both take any buffer (y*), allocate nothing, read bytes only at an index checked
   against the length, and let go of the GIL over large buffers: the edge scans large
   bodies in worker threads. tests/edge_proxy/detect/test_scan.py checks them against the
   Python references. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define MIN_DIGITS 13 /* candidates.MIN_DIGITS: the shortest card number */
#define MIN_HEX 26    /* tokens.MIN_HEX: 13 bytes written in hex */
#define MIN_TOKEN 18  /* tokens.MIN_TOKEN: 13 bytes written in base64 */
#define MIN_BASE32 21 /* tokens.MIN_BASE32: 13 bytes written in base32 */
#define GZIP_HEADER 0x1F8B08u
/* Below this many bytes a scan costs less than handing the GIL over and taking it back. */
#define RELEASE_GIL_AT 8192

/* ---- runs_clean --------------------------------------------------------------------- */

/* How a byte moves a run counter: GROW adds one, JOIN (a byte the Python deletes) leaves
   the run as it is, END (any other byte) ends it. */
enum { END = 0, JOIN = 2, GROW = 3 };
#define NOT_BASE64 64

static unsigned char digit_step[256];   /* step 2: digits GROW, separators JOIN */
static unsigned char hex_step[256];     /* step 3: hex digits GROW, no joiners */
static unsigned char upper32_step[256]; /* step 3: A-Z and 2-7 GROW */
static unsigned char base64_step[256];  /* step 4, a decoded byte: a base64 character */
static unsigned char decoded_step[256]; /* step 4, a decoded byte: as fast._DECODED */
static unsigned char base64_value[256]; /* 0 to 63, NOT_BASE64 for bytes the stream drops */

static uint32_t advance(uint32_t run, unsigned step) {
    return (run + (step & 1)) & (0u - (step >> 1)); /* branch-free: the mask is 0 for END */
}

static int is_hex(int c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int is_ascii_alnum(int c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* str.isalnum() of a Latin-1 character: what the exact path's runs do not cross. */
static int is_latin1_alnum(int c) {
    return is_ascii_alnum(c) || c == 0xAA || c == 0xB2 || c == 0xB3 || c == 0xB5 ||
           c == 0xB9 || c == 0xBA || (c >= 0xBC && c <= 0xBE) ||
           (c >= 0xC0 && c != 0xD7 && c != 0xF7);
}

static void fill_tables(void) {
    for (int c = 0; c < 256; c++) {
        digit_step[c] = (c >= '0' && c <= '9') ? GROW : (c < 0x80 && !is_ascii_alnum(c)) ? JOIN : END;
        hex_step[c] = is_hex(c) ? GROW : END;
        upper32_step[c] = ((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')) ? GROW : END;
        base64_step[c] = (is_ascii_alnum(c) || c == '+' || c == '/' || c == '-' || c == '_') ? GROW : END;
        decoded_step[c] = (is_hex(c) || c == '%') ? GROW : !is_latin1_alnum(c) ? JOIN : END;
        base64_value[c] = (unsigned char)((c >= 'A' && c <= 'Z')   ? c - 'A'
                                          : (c >= 'a' && c <= 'z') ? c - 'a' + 26
                                          : (c >= '0' && c <= '9') ? c - '0' + 52
                                          : (c == '+' || c == '-') ? 62 /* base64url "-" */
                                          : (c == '/' || c == '_') ? 63 /* base64url "_" */
                                                                   : NOT_BASE64);
    }
}

/* Steps 2 and 3. */
static int text_clean(const unsigned char *text, Py_ssize_t len) {
    uint32_t digits = 0, hex = 0, upper = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        digits = advance(digits, digit_step[text[i]]);
        hex = advance(hex, hex_step[text[i]]);
        upper = advance(upper, upper32_step[text[i]]);
        if (digits >= MIN_DIGITS || hex >= MIN_HEX || upper >= MIN_BASE32)
            return 0;
    }
    return 1;
}

/* The base64 stream, decoded at the four alignments at once. Value k of the stream (k
   from 1) ends a quad of the alignment k mod 4 once k >= 4: that quad, the last four
   values, decodes to three bytes, read in order by that alignment's run counter. */
typedef struct {
    uint32_t quad;      /* the last four values, 6 bits each */
    size_t seen;        /* values so far */
    uint32_t runs[4];   /* per alignment: digit-capable decoded bytes in a row */
    uint32_t tokens[4]; /* per alignment: base64 characters decoded in a row */
    uint32_t last[4];   /* per alignment: the last three decoded bytes */
} Stream;

/* One more value; false when an alignment's run reaches MIN_DIGITS. */
static int push(Stream *s, unsigned value) {
    s->quad = ((s->quad << 6) | value) & 0xFFFFFF;
    if (++s->seen < 4)
        return 1;
    size_t at = s->seen & 3;
    uint32_t *run = &s->runs[at], *token = &s->tokens[at], *last = &s->last[at];
    for (int shift = 16; shift >= 0; shift -= 8) {
        unsigned byte = (s->quad >> shift) & 0xFF;
        *run = advance(*run, decoded_step[byte]);
        *token = advance(*token, base64_step[byte]);
        *last = ((*last << 8) | byte) & 0xFFFFFF;
        if (*run >= MIN_DIGITS || *token >= MIN_TOKEN || *last == GZIP_HEADER)
            return 0;
    }
    return 1;
}

/* Step 4. */
static int decoded_clean(const unsigned char *text, Py_ssize_t len) {
    Stream s = {0, 0, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}};
    for (Py_ssize_t i = 0; i < len; i++) {
        unsigned value = base64_value[text[i]];
        if (value != NOT_BASE64 && !push(&s, value))
            return 0;
    }
    /* "AAAA" (four zero values) completes the last quad of every alignment, as the
       Python's appended "AAAA" does; a2b_base64 decodes the same whole quads. */
    for (int i = 0; i < 4; i++)
        if (!push(&s, 0))
            return 0;
    return 1;
}

static int scan_runs(const unsigned char *text, Py_ssize_t len) {
    return text_clean(text, len) && (len < MIN_TOKEN || decoded_clean(text, len));
}

/* ---- plain_json --------------------------------------------------------------------- */

#define MAX_DEPTH 64 /* nesting vouched for: one bit each in `objects` below */
/* The least limit sys.set_int_max_str_digits() accepts: json.loads converts any integer
   this short whatever the process set. */
#define MAX_INT_DIGITS 640

typedef struct {
    const unsigned char *buf;
    Py_ssize_t len, at;
} Reader;

/* The byte at the cursor, or -1 past the end: the only way the validator reads. */
static int peek(const Reader *r) {
    return r->at < r->len ? r->buf[r->at] : -1;
}

static int is_digit(int c) {
    return c >= '0' && c <= '9';
}

static void skip_space(Reader *r) {
    for (int c = peek(r); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = peek(r))
        r->at++;
}

/* A string from its opening quote: ASCII, no control character, JSON's escapes only. */
static int string(Reader *r) {
    r->at++;
    for (;;) {
        int c = peek(r);
        r->at++;
        if (c == '"')
            return 1;
        if (c < 0x20 || c >= 0x80) /* also the end of the text (-1) */
            return 0;
        if (c == '\\') {
            c = peek(r);
            r->at++;
            switch (c) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                break;
            case 'u':
                for (int k = 0; k < 4; k++, r->at++)
                    if (!is_hex(peek(r)))
                        return 0;
                break;
            default:
                return 0;
            }
        }
    }
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)? and no exponent: the exact path judges 42e14 by value. */
static int number(Reader *r) {
    if (peek(r) == '-')
        r->at++;
    Py_ssize_t start = r->at;
    if (peek(r) == '0')
        r->at++;
    else if (is_digit(peek(r)))
        while (is_digit(peek(r)))
            r->at++;
    else
        return 0;
    if (r->at - start > MAX_INT_DIGITS)
        return 0;
    if (peek(r) == '.') {
        r->at++;
        if (!is_digit(peek(r)))
            return 0;
        while (is_digit(peek(r)))
            r->at++;
    }
    return peek(r) != 'e' && peek(r) != 'E';
}

static int literal(Reader *r, const char *word) {
    for (; *word != '\0'; word++, r->at++)
        if (peek(r) != (unsigned char)*word)
            return 0;
    return 1;
}

static int scalar(Reader *r) {
    switch (peek(r)) {
    case '"': return string(r);
    case 't': return literal(r, "true");
    case 'f': return literal(r, "false");
    case 'n': return literal(r, "null");
    default: return number(r);
    }
}

/* A member's key and colon, up to its value. */
static int key(Reader *r) {
    if (peek(r) != '"' || !string(r))
        return 0;
    skip_space(r);
    if (peek(r) != ':')
        return 0;
    r->at++;
    skip_space(r);
    return 1;
}

static int scan_json(const unsigned char *buf, Py_ssize_t len) {
    Reader r = {buf, len, 0};
    uint64_t objects = 0; /* bit d: the container at depth d + 1 is an object */
    int depth = 0;
    skip_space(&r);
    for (;;) {
        /* at a value */
        int c = peek(&r);
        if (c == '{' || c == '[') {
            if (depth == MAX_DEPTH)
                return 0;
            uint64_t bit = (uint64_t)1 << depth;
            objects = c == '{' ? objects | bit : objects & ~bit;
            depth++;
            r.at++;
            skip_space(&r);
            if (peek(&r) == (c == '{' ? '}' : ']')) {
                r.at++; /* empty: a whole value, go on after it */
                depth--;
            } else if (c == '[') {
                continue;
            } else if (!key(&r)) {
                return 0;
            } else {
                continue;
            }
        } else if (!scalar(&r)) {
            return 0;
        }
        /* after a value: a comma, the end of its container (and maybe more), or the end */
        for (;;) {
            skip_space(&r);
            if (depth == 0)
                return r.at == r.len;
            int in_object = (int)((objects >> (depth - 1)) & 1);
            c = peek(&r);
            r.at++;
            if (c == ',') {
                skip_space(&r);
                if (in_object && !key(&r))
                    return 0;
                break; /* to the next value */
            }
            if (c != (in_object ? '}' : ']'))
                return 0;
            depth--;
        }
    }
}

/* ---- the module --------------------------------------------------------------------- */

typedef int (*Scan)(const unsigned char *, Py_ssize_t);

static PyObject *run(PyObject *arg, Scan scan) {
    Py_buffer view;
    int clean;
    if (!PyArg_Parse(arg, "y*", &view))
        return NULL;
    if (view.len >= RELEASE_GIL_AT) {
        Py_BEGIN_ALLOW_THREADS
        clean = scan(view.buf, view.len);
        Py_END_ALLOW_THREADS
    } else {
        clean = scan(view.buf, view.len);
    }
    PyBuffer_Release(&view);
    return PyBool_FromLong(clean);
}

static PyObject *runs_clean(PyObject *module, PyObject *data) {
    (void)module;
    return run(data, scan_runs);
}

static PyObject *plain_json(PyObject *module, PyObject *data) {
    (void)module;
    return run(data, scan_json);
}

static PyMethodDef methods[] = {
    {"runs_clean", runs_clean, METH_O,
     "True when steps 2 to 4 of fast.quick_clean find nothing in the bytes."},
    {"plain_json", plain_json, METH_O,
     "True only when the bytes are one JSON document, json.loads-valid, with no exponent."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "edge_proxy.detect._scan",
    "The fast path's byte loops in C (see _scan.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__scan(void) {
    fill_tables();
    return PyModule_Create(&module);
}

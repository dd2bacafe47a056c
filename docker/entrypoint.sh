#!/bin/sh
# Container secrets come as variables where the platform can only hand over variables
# (ECS): a NAME_PEM variable holds what the NAME_FILE setting names a file for. Each one
# is written to that file (mode 0600, on the task's tmpfs) and unset, then the service
# starts: what it reads is a file, as with mounted secrets elsewhere.
set -eu
umask 077
for pem in $(env | sed -n 's/^\([A-Z0-9_]*\)_PEM=.*/\1/p'); do
  eval "target=\${${pem}_FILE:-}"
  if [ -z "$target" ]; then
    echo "entrypoint: ${pem}_PEM is set but ${pem}_FILE names no file" >&2
    exit 2
  fi
  mkdir -p "$(dirname "$target")"
  eval "printf '%s\n' \"\$${pem}_PEM\"" > "$target"
  unset "${pem}_PEM"
done
exec "$@"

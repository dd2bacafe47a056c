#!/bin/sh
# Secrets reach a container in one of two shapes, and the services read settings from
# variables; this turns both into what a service reads, then starts it.
#  - Mounted as files (Docker and Kubernetes secrets): NAME_FILE=/run/secrets/x sets NAME
#    from that file, for every secret setting (VAULT_TEST_CREDENTIAL_FILE, ...).
#  - Handed over as variables (ECS): NAME_PEM holds what the NAME_FILE setting names a
#    file for (TLS certificates and keys, which a service reads as files); it is written
#    to that file, mode 0600 on the task's tmpfs, and unset.
# Anything ambiguous or unreadable stops the container (fail closed).
set -eu
umask 077

for pem in $(env | sed -n 's/^\([A-Z][A-Z0-9_]*\)_PEM=.*/\1/p'); do
  eval "target=\${${pem}_FILE:-}"
  if [ -z "$target" ]; then
    echo "entrypoint: ${pem}_PEM is set but ${pem}_FILE names no file" >&2
    exit 2
  fi
  mkdir -p "$(dirname "$target")"
  eval "printf '%s\n' \"\$${pem}_PEM\"" > "$target"
  unset "${pem}_PEM"
done

for name in $(env | sed -n 's/^\([A-Z][A-Z0-9_]*\)_FILE=.*/\1/p'); do
  case "$name" in
    *_TLS_CERT | *_TLS_KEY | *_TLS_CA | *_CA) continue ;;  # files the service reads itself
  esac
  eval "path=\${${name}_FILE}"
  if eval "[ -n \"\${${name}+set}\" ]"; then
    echo "entrypoint: both $name and ${name}_FILE are set; set one" >&2
    exit 2
  fi
  if [ ! -r "$path" ]; then
    echo "entrypoint: ${name}_FILE: cannot read $path" >&2
    exit 2
  fi
  value=$(cat "$path")  # command substitution drops the trailing newline, as wanted
  export "$name=$value"
  unset "${name}_FILE"
done

exec "$@"

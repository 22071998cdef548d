#!/bin/sh
# Entrypoint of the scorecard image: turn Docker secrets into the environment variables
# the application reads, then run the command (`scorecard ...`).
#
# For each NAME below, if NAME_FILE is set, NAME is set to the contents of that file
# (trailing newlines removed) and NAME_FILE is unset. Setting both is an error, so a
# secret is never silently shadowed. Secrets stay out of the compose file and out of
# `docker inspect`: only the *_FILE paths are in the container's configuration.
#
#   SCORECARD_EVENT_STORE          postgresql://user:password@host:port/db
#   SCORECARD_KAFKA_SASL_PASSWORD  the ingest principal's SCRAM password
set -eu

for name in SCORECARD_EVENT_STORE SCORECARD_KAFKA_SASL_PASSWORD; do
    file=$(printenv "${name}_FILE" || true)
    [ -n "$file" ] || continue
    if [ -n "$(printenv "$name" || true)" ]; then
        echo "scorecard-entrypoint: set $name or ${name}_FILE, not both" >&2
        exit 64
    fi
    if [ ! -r "$file" ]; then
        echo "scorecard-entrypoint: ${name}_FILE: cannot read $file" >&2
        exit 66
    fi
    value=$(cat "$file")
    if [ -z "$value" ]; then
        echo "scorecard-entrypoint: ${name}_FILE: $file is empty" >&2
        exit 66
    fi
    export "$name=$value"
    unset "${name}_FILE"
done

if [ "$#" -eq 0 ]; then
    set -- scorecard --help
fi
exec "$@"

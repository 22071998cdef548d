#!/bin/bash
# Start the single KRaft broker+controller of docker/compose.yaml (apache/kafka image).
#
# Two things the image's own start script (/etc/kafka/docker/run) cannot do from plain
# environment variables without putting a password in the compose file:
#
# 1. Bootstrap the `admin` SCRAM-SHA-512 credential when the storage is formatted
#    (KIP-900: `kafka-storage format --add-scram`). With KRaft, SCRAM credentials live in
#    the metadata log, and the broker's own inter-broker login needs one before anything
#    can create users. Formatted once; the image's run script then finds the storage
#    "already formatted" and carries on.
# 2. Write the broker's JAAS login (the admin user, for the inter-broker SASL listener)
#    from the Docker secret into a tmpfs file, and point KAFKA_OPTS at it.
#
# Every KAFKA_* variable becomes a server property exactly as the image does it
# (KAFKA_ stripped, lower case, `_` -> `.`, `___` -> `-`, `__` -> `_`).
#
# KAFKA_START_DRY_RUN=1 prints the properties and the format command (password masked)
# instead of running anything: the deployment tests use it.
set -euo pipefail

secret_file=${KAFKA_ADMIN_PASSWORD_FILE:-/run/secrets/kafka_admin_password}
admin_user=${KAFKA_ADMIN_USER:-admin}
data_dir=${KAFKA_LOG_DIRS:-/var/lib/kafka/data}
run_dir=${KAFKA_START_RUN_DIR:-/tmp/kafka-start}
dry_run=${KAFKA_START_DRY_RUN:-}

# Properties of the image's env conversion that are not server properties.
excluded=" KAFKA_VERSION KAFKA_HEAP_OPTS KAFKA_LOG4J_OPTS KAFKA_OPTS KAFKA_JMX_OPTS \
KAFKA_JVM_PERFORMANCE_OPTS KAFKA_GC_LOG_OPTS KAFKA_LOG4J_ROOT_LOGLEVEL KAFKA_LOG4J_LOGGERS \
KAFKA_TOOLS_LOG4J_LOGLEVEL KAFKA_JMX_HOSTNAME KAFKA_ADMIN_PASSWORD_FILE KAFKA_ADMIN_USER \
KAFKA_START_RUN_DIR KAFKA_START_DRY_RUN "

property_name() {  # KAFKA_LISTENER_NAME_CLIENTS_SCRAM___SHA___512_X -> listener.name.clients.scram-sha-512.x
    local name=${1#KAFKA_}
    name=${name,,}
    name=${name//_/.}
    name=${name//.../-}
    name=${name//../_}
    printf '%s' "$name"
}

render_properties() {
    local name
    while IFS= read -r name; do
        case "$excluded" in *" $name "*) continue ;; esac
        printf '%s=%s\n' "$(property_name "$name")" "${!name}"
    done < <(compgen -e | grep '^KAFKA_' | sort)
}

# KAFKA_X_PASSWORD_FILE=/run/secrets/... sets KAFKA_X_PASSWORD from that file (e.g. the
# TLS keystore password of docker/compose.agencies.yaml), so no password is in the
# environment the compose file declares.
while IFS= read -r name; do
    [ "$name" = KAFKA_ADMIN_PASSWORD_FILE ] && continue
    [ -r "${!name}" ] || { echo "kafka-start: $name: cannot read ${!name}" >&2; exit 66; }
    export "${name%_FILE}=$(cat "${!name}")"
    unset "$name"
done < <(compgen -e | grep '^KAFKA_.*_PASSWORD_FILE$' || true)

if [ ! -r "$secret_file" ]; then
    echo "kafka-start: cannot read the admin password secret $secret_file" >&2
    exit 66
fi
admin_password=$(cat "$secret_file")
case "$admin_password" in
    ''|*[!A-Za-z0-9]*)
        echo "kafka-start: the admin password must be non-empty letters and digits" \
             "(generate it with: openssl rand -hex 32)" >&2
        exit 65 ;;
esac
: "${CLUSTER_ID:?CLUSTER_ID must be set (KAFKA_CLUSTER_ID in docker/.env)}"

mkdir -p "$run_dir"
chmod 0700 "$run_dir"
jaas="$run_dir/kafka_server_jaas.conf"
umask 077
cat >"$jaas" <<JAAS
KafkaServer {
  org.apache.kafka.common.security.scram.ScramLoginModule required
  username="$admin_user"
  password="$admin_password";
};
JAAS
export KAFKA_OPTS="${KAFKA_OPTS:+$KAFKA_OPTS }-Djava.security.auth.login.config=$jaas"

properties="$run_dir/format.properties"
render_properties >"$properties"
scram="SCRAM-SHA-512=[name=$admin_user,password=$admin_password]"

if [ -n "$dry_run" ]; then
    cat "$properties"
    echo "format: --cluster-id $CLUSTER_ID --add-scram SCRAM-SHA-512=[name=$admin_user,password=***]"
    echo "KAFKA_OPTS=$KAFKA_OPTS"
    exit 0
fi

if [ ! -f "$data_dir/meta.properties" ]; then
    echo "kafka-start: formatting $data_dir with the $admin_user SCRAM credential"
    /opt/kafka/bin/kafka-storage.sh format --cluster-id "$CLUSTER_ID" -c "$properties" \
        --add-scram "$scram"
fi
rm -f "$properties"
unset admin_password scram

exec /etc/kafka/docker/run

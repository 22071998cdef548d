#!/bin/bash
# kafka-setup: topics, SCRAM users and ACLs for docker/compose.yaml. Idempotent: run it
# again (`docker compose run --rm kafka-setup`) after adding an agency.
#
# Arguments: the producing agencies' codes (each is also its Kafka principal, User:CODE).
# Secrets (files under $SECRETS_DIR, default /run/secrets):
#   kafka_admin_password    the super user `admin` (created when the broker was formatted)
#   kafka_ingest_password   the ingest principal (`scorecard-ingest`)
#   kafka_agency_passwords  one `code:password` line per agency (# comments allowed)
#
# Grants (StandardAuthorizer, deny by default):
#   User:<agency>            Write on topic agency-events, and nothing else
#   User:scorecard-ingest    Read on topic agency-events, Read on group scorecard-ingest,
#                            Write on topic agency-events.rejected
#
# SETUP_DRY_RUN=1 prints the commands instead of running them (the deployment tests use it).
set -euo pipefail

bootstrap=${KAFKA_BOOTSTRAP:-kafka:9092}
bin=${KAFKA_BIN:-/opt/kafka/bin}
secrets=${SECRETS_DIR:-/run/secrets}
dry_run=${SETUP_DRY_RUN:-}
partitions=${AGENCY_EVENTS_PARTITIONS:-6}
topic=agency-events
rejected=agency-events.rejected
group=scorecard-ingest
ingest_user=${INGEST_PRINCIPAL:-scorecard-ingest}
admin_user=${KAFKA_ADMIN_USER:-admin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077

die() { echo "kafka-setup: $*" >&2; exit 1; }
run() { if [ -n "$dry_run" ]; then printf '%s\n' "$*"; else "$@"; fi; }
secret() {
    [ -r "$secrets/$1" ] || die "cannot read secret $secrets/$1"
    local value
    value=$(cat "$secrets/$1")
    [ -n "$value" ] || die "secret $1 is empty"
    printf '%s' "$value"
}
safe_password() {  # SCRAM config values and JAAS strings: letters and digits only
    case "$2" in ''|*[!A-Za-z0-9]*) die "the password of $1 must be letters and digits (openssl rand -hex 32)";; esac
}

[ "$#" -gt 0 ] || die "name at least one producing agency (its code) as an argument"
for agency in "$@"; do
    [[ "$agency" =~ ^[a-z0-9-]{2,40}$ ]] || die "not an agency code: $agency"
    [ "$agency" != "$ingest_user" ] && [ "$agency" != "$admin_user" ] \
        || die "$agency is a reserved principal"
done

admin_password=$(secret kafka_admin_password)
safe_password "$admin_user" "$admin_password"
ingest_password=$(secret kafka_ingest_password)
safe_password "$ingest_user" "$ingest_password"
agency_passwords=$(secret kafka_agency_passwords)

client="$work/admin.properties"
cat >"$client" <<PROPS
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$admin_user" password="$admin_password";
PROPS

topics()  { run "$bin/kafka-topics.sh"  --bootstrap-server "$bootstrap" --command-config "$client" "$@"; }
configs() { run "$bin/kafka-configs.sh" --bootstrap-server "$bootstrap" --command-config "$client" "$@"; }
acls()    { run "$bin/kafka-acls.sh"    --bootstrap-server "$bootstrap" --command-config "$client" "$@"; }

scram_user() {  # user password
    configs --alter --entity-type users --entity-name "$1" \
        --add-config "SCRAM-SHA-512=[iterations=8192,password=$2]"
    echo "kafka-setup: SCRAM-SHA-512 credential set for User:$1"
}

grant_agency() {  # the producing principal may write agency-events, and nothing else
    acls --add --allow-principal "User:$1" --operation Write --topic "$topic"
}

grant_ingest() {
    acls --add --allow-principal "User:$ingest_user" --operation Read --topic "$topic"
    acls --add --allow-principal "User:$ingest_user" --operation Read --group "$group"
    acls --add --allow-principal "User:$ingest_user" --operation Write --topic "$rejected"
}

echo "kafka-setup: waiting for $bootstrap"
for attempt in $(seq 1 60); do
    if topics --list >/dev/null 2>&1; then break; fi
    [ "$attempt" -lt 60 ] || die "the broker did not answer at $bootstrap"
    sleep 2
done

# The record of agency events is the event store; Kafka keeps them long enough for the
# ingest workers to catch up after an outage, and the rejected ones for agencies to read.
topics --create --if-not-exists --topic "$topic" --partitions "$partitions" \
    --replication-factor 1 --config retention.ms=2592000000 --config max.message.bytes=1048576
topics --create --if-not-exists --topic "$rejected" --partitions 1 \
    --replication-factor 1 --config retention.ms=7776000000

scram_user "$ingest_user" "$ingest_password"
grant_ingest

for agency in "$@"; do
    password=$(printf '%s\n' "$agency_passwords" | sed -n "s/^$agency:\(.*\)\$/\1/p" | head -n 1)
    [ -n "$password" ] || die "no password for $agency in secret kafka_agency_passwords"
    safe_password "$agency" "$password"
    scram_user "$agency" "$password"
    grant_agency "$agency"
done

acls --list --topic "$topic"
echo "kafka-setup: done (agencies: $*)"

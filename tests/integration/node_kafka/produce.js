#!/usr/bin/env node
// A non-Python producer for topic agency-events: KafkaJS (pure JavaScript, no librdkafka),
// signing in JavaScript as the agencies' contract says (section 4): header `signature` =
// "v1=" + lowercase hex HMAC-SHA256 of the exact value bytes, keyed with the UTF-8 text of
// the agency's key file.
//
// Usage: node produce.js SPEC.json
// SPEC: {"bootstrap": "host:port", "topic": "agency-events",
//        "key_files": {"racs": "/path/to/racs.key", ...},
//        "messages": [{"key": base64 | null,
//                      "value": base64 | null,         // the exact bytes; null: a tombstone
//                      "event": {...},                 // or an object JSON.stringify'd here
//                      "sign_as": "racs",              // optional: sign the value with its key
//                      "headers": [[name, base64], ...]}, ...]}
// Each message is sent on its own and acknowledged by all replicas before the next, so the
// output (one JSON line on stdout) gives each message's partition and offset, in order:
// {"sent": [{"partition": 0, "offset": 3, "signature": "v1=..." | null}, ...]}

"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const { Kafka, Partitioners, logLevel } = require("kafkajs");

function bytesOf(base64) {
  return base64 === null ? null : Buffer.from(base64, "base64");
}

function sign(keyText, value) {
  const hmac = crypto.createHmac("sha256", Buffer.from(keyText, "utf8"));
  hmac.update(value);
  return "v1=" + hmac.digest("hex");
}

// KafkaJS takes headers as an object; a name given more than once becomes a list, in order.
function headersOf(pairs) {
  const headers = {};
  for (const [name, value] of pairs) {
    const bytes = bytesOf(value);
    if (name in headers) {
      headers[name] = [].concat(headers[name], bytes);
    } else {
      headers[name] = bytes;
    }
  }
  return headers;
}

function messageOf(spec, keys) {
  const value = "event" in spec ? Buffer.from(JSON.stringify(spec.event), "utf8")
    : bytesOf(spec.value);
  const pairs = [];
  let signature = null;
  if (spec.sign_as) {
    if (!(spec.sign_as in keys)) throw new Error(`no key file for ${spec.sign_as}`);
    signature = sign(keys[spec.sign_as], value === null ? Buffer.alloc(0) : value);
    pairs.push(["signature", Buffer.from(signature, "utf8").toString("base64")]);
  }
  pairs.push(...(spec.headers || []));
  return { message: { key: bytesOf(spec.key), value, headers: headersOf(pairs) }, signature };
}

async function main() {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const keys = {};
  for (const [agency, path] of Object.entries(spec.key_files)) {
    keys[agency] = fs.readFileSync(path, "utf8");
  }
  const kafka = new Kafka({
    clientId: "node-kafka-producer",
    brokers: [spec.bootstrap],
    logLevel: logLevel.WARN,
    retry: { retries: 5 },
  });
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  const sent = [];
  try {
    for (const entry of spec.messages) {
      const { message, signature } = messageOf(entry, keys);
      const [meta] = await producer.send({ topic: spec.topic, acks: -1, messages: [message] });
      if (meta.errorCode !== 0) throw new Error(`broker error ${meta.errorCode}`);
      sent.push({ partition: meta.partition, offset: Number(meta.baseOffset), signature });
    }
  } finally {
    await producer.disconnect();
  }
  process.stdout.write(JSON.stringify({ sent }) + "\n");
}

main().catch((error) => {
  process.stderr.write(`node producer failed: ${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});

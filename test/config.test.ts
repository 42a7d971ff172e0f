import { availableParallelism } from "node:os";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { CreateKeyCommand } from "@aws-sdk/client-kms";
import { ConfigError, loadConfig, settingsHelp } from "../src/config.js";
import { startTestServer, tempDir } from "./helpers.js";

describe("settings", () => {
  it("reads every setting from the environment, flags win, and defaults are the brief's", () => {
    const defaults = loadConfig({}, []);
    assert.equal(defaults.host, "127.0.0.1");
    assert.equal(defaults.port, 8420);
    assert.match(defaults.dataDir, /keyhold-data$/);
    assert.equal(defaults.region, "us-east-1");
    assert.equal(defaults.accountId, "000000000000");
    // One worker per core by default, and one process still to be had.
    assert.equal(defaults.workers, Math.min(64, availableParallelism()));
    assert.equal(loadConfig({}, ["--workers", "1"]).workers, 1);
    assert.equal(loadConfig({ KEYHOLD_WORKERS: "1" }, []).workers, 1);
    const c = loadConfig({ KEYHOLD_PORT: "9000", KEYHOLD_DATABASE_URL: "postgres://x@h/db" }, ["--port", "9001", "--workers=2"]);
    assert.equal(c.port, 9001);
    assert.equal(c.workers, 2);
    assert.equal(c.databaseUrl, "postgres://x@h/db");
  });

  it("has connection limits, from the environment or flags, with defaults that never cut a large upload by its total time", () => {
    const defaults = loadConfig({}, []);
    assert.equal(defaults.headersTimeoutMs, 20_000);
    assert.equal(defaults.idleTimeoutMs, 60_000);
    assert.equal(defaults.minReceiveRate, 1024);
    assert.equal(defaults.maxConnectionsPerSource, 256);
    const c = loadConfig({ KEYHOLD_MAX_CONNECTIONS_PER_SOURCE: "8", KEYHOLD_IDLE_TIMEOUT_MS: "5000" }, [
      "--headers-timeout-ms=1000",
      "--min-receive-rate",
      "4096",
    ]);
    assert.deepEqual([c.headersTimeoutMs, c.idleTimeoutMs, c.minReceiveRate, c.maxConnectionsPerSource], [1000, 5000, 4096, 8]);
    assert.throws(() => loadConfig({ KEYHOLD_MAX_CONNECTIONS_PER_SOURCE: "0" }, []), /max connections per source must be an integer/);
  });

  it("has a shutdown timeout in seconds, 30 unless set, 0 to 3600", () => {
    assert.equal(loadConfig({}, []).shutdownTimeout, 30);
    assert.equal(loadConfig({ KEYHOLD_SHUTDOWN_TIMEOUT: "5" }, []).shutdownTimeout, 5);
    assert.equal(loadConfig({ KEYHOLD_SHUTDOWN_TIMEOUT: "5" }, ["--shutdown-timeout", "0"]).shutdownTimeout, 0);
    assert.throws(() => loadConfig({ KEYHOLD_SHUTDOWN_TIMEOUT: "3601" }, []), /shutdown timeout must be an integer/);
    assert.throws(() => loadConfig({}, ["--shutdown-timeout", "soon"]), /shutdown timeout must be an integer/);
  });

  it("refuses bad values with a message naming the setting", () => {
    assert.throws(() => loadConfig({ KEYHOLD_PORT: "http" }, []), ConfigError);
    assert.throws(() => loadConfig({ KEYHOLD_ACCOUNT_ID: "123" }, []), /12 digits/);
    assert.throws(() => loadConfig({ KEYHOLD_DATABASE_URL: "mysql://x" }, []), /postgres/);
    assert.throws(() => loadConfig({}, ["--no-such-flag", "1"]), /unknown option/);
    assert.throws(() => loadConfig({ KEYHOLD_ROOT_ACCESS_KEY_ID: "AKIAAAAAAAAAAAAAAAAA" }, []), /go together/);
    assert.throws(() => loadConfig({ KEYHOLD_MASTER_KEY_FILE: "/k", KEYHOLD_MASTER_PASSPHRASE: "p" }, []), /not both/);
  });

  it("HSM root of trust: module, token by label or slot, PIN from a file or the environment, never from argv", () => {
    const hsm = { KEYHOLD_HSM_MODULE: "/lib/p11.so", KEYHOLD_HSM_TOKEN_LABEL: "kh", KEYHOLD_HSM_PIN_FILE: "/run/pin" };
    const c = loadConfig(hsm, []);
    assert.deepEqual([c.hsmModule, c.hsmTokenLabel, c.hsmPinFile], ["/lib/p11.so", "kh", "/run/pin"]);
    const flags = loadConfig({}, ["--hsm-module", "/lib/p11.so", "--hsm-slot", "7", "--hsm-pin-file", "/run/pin"]);
    assert.equal(flags.hsmSlot, 7);
    assert.equal(loadConfig({ KEYHOLD_HSM_MODULE: "/m.so", KEYHOLD_HSM_SLOT: "0", KEYHOLD_HSM_PIN: "1234" }, []).hsmPin, "1234");
    // A PIN on the command line is refused without being echoed.
    const secret = "pin-on-argv-7731";
    for (const args of [["--hsm-pin", secret], [`--hsm-pin=${secret}`]]) {
      assert.throws(
        () => loadConfig(hsm, args),
        (e: Error) => e instanceof ConfigError && /ps shows it/.test(e.message) && !e.message.includes(secret),
      );
    }
    assert.throws(() => loadConfig({ ...hsm, KEYHOLD_MASTER_KEY_FILE: "/k" }, []), /one root of trust/);
    assert.throws(() => loadConfig({ KEYHOLD_HSM_MODULE: "/m.so", KEYHOLD_HSM_PIN: "1" }, []), /TOKEN_LABEL or KEYHOLD_HSM_SLOT/);
    assert.throws(() => loadConfig({ ...hsm, KEYHOLD_HSM_SLOT: "1" }, []), /one of the two/);
    assert.throws(() => loadConfig({ KEYHOLD_HSM_MODULE: "/m.so", KEYHOLD_HSM_TOKEN_LABEL: "kh" }, []), /PIN/);
    assert.throws(() => loadConfig({ KEYHOLD_HSM_TOKEN_LABEL: "kh" }, []), /need KEYHOLD_HSM_MODULE/);
    assert.match(settingsHelp(), /\(environment only\)\s+KEYHOLD_HSM_PIN /);
  });

  it("refuses, in words, a second server on a data directory a running server uses; the next start after a stop works", async () => {
    const dataDir = tempDir();
    const first = await startTestServer({ dataDir });
    try {
      await assert.rejects(() => startTestServer({ dataDir }), /audit chain 1 of .* is in use by another keyhold process/);
      const kms = first.client();
      assert.ok((await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId, "the running server is unaffected");
    } finally {
      await first.stop();
    }
    const again = await startTestServer({ dataDir });
    await again.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("says so when root credentials are set on a later start of an initialized data directory", async () => {
    const dataDir = tempDir();
    const first = await startTestServer({ dataDir });
    await first.stop();
    const again = await startTestServer({ dataDir, config: { rootAccessKeyId: "AKIAOTHERKEYHOLD0001", rootSecretAccessKey: "other" } });
    try {
      assert.ok(again.logs.some((l) => /root credentials are set at initialization only/.test(l)));
    } finally {
      await again.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

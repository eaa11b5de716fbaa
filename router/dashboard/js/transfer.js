// Installing a stored program set on a runtime from the page (a rollback), as the IDE transfers
// (protocol.md §2, ide_component/transfer.py): StopPLC if it runs, PurgeBlobs, then for each
// blob (extra files first, then the program) SeedBlob and AppendChunkToBlob chunks, checking
// every blob id the runtime answers against the running md5 computed here, and NewPLC.
// The program's blob is seeded with the md5's ASCII text, each extra file with its name.

import { Md5, hex } from "./md5.js";

const CHUNK = 256 * 1024;  // as the IDE: well under the router's WebSocket message limit

class BlobMismatch extends Error {}

const same = (a, b) => a.length === b.length && a.every((byte, n) => byte === b[n]);

async function sendBlob(call, name, seed, data, progress) {
  const running = new Md5().update(seed);
  let id = running.digest();
  const check = (answer, where) => {
    const got = new Uint8Array(answer);
    if (!same(got, id)) {
      throw new BlobMismatch(`${name}: blob id mismatch after ${where} (runtime ${hex(got)}, expected ${hex(id)}); `
        + "nothing was installed");
    }
  };
  check(await call("SeedBlob", [seed]), "seeding");
  for (let start = 0; start < data.length; start += CHUNK) {
    const chunk = data.slice(start, start + CHUNK);  // its own buffer, as the serializer sends it whole
    const previous = id;
    id = running.update(chunk).digest();
    check(await call("AppendChunkToBlob", [chunk, previous]), `${start + chunk.length} bytes`);
    progress(chunk.length);
  }
  return id;
}

// set: {md5, program: Uint8Array, extras: [[name, Uint8Array], ...]} (plclink.registry.program).
// progress(text) is told each stage; resolves when NewPLC installed it, throws an Error saying
// what failed otherwise.
export async function installProgram(session, plcId, set, progress = () => {}) {
  const call = (method, args = []) => session.call(`${plcId}.${method}`, args);
  const [status] = await call("GetPLCstatus");
  if (status === "Started") {
    progress("stopping");
    if (!await call("StopPLC")) throw new Error("StopPLC failed: the PLC did not stop in time; repair it first");
  }
  const encoder = new TextEncoder();
  const extras = set.extras.map(([name, data]) => [name, new Uint8Array(data)]);
  const program = new Uint8Array(set.program);
  const total = extras.reduce((sum, [, data]) => sum + data.length, program.length);
  let sent = 0;
  const sending = (bytes) => {
    sent += bytes;
    progress(`sending ${Math.round((100 * sent) / Math.max(total, 1))} %`);
  };
  progress("sending");
  await call("PurgeBlobs");
  try {
    const extraIds = [];
    for (const [name, data] of extras) extraIds.push([name, await sendBlob(call, name, encoder.encode(name), data, sending)]);
    const programId = await sendBlob(call, "program", encoder.encode(set.md5), program, sending);
    progress("installing");
    if (!await call("NewPLC", [set.md5, programId, extraIds])) {
      const [after] = await call("GetPLCstatus");
      throw new Error(`the program was transferred but did not load (status ${after}); see the log`);
    }
  } catch (error) {
    if (error instanceof BlobMismatch) await call("PurgeBlobs").catch(() => null);
    throw error;
  }
}

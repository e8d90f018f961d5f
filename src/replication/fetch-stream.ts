/**
 * Opens a streamed peer answer of MAC'd frames (frames.ts): a log stream
 * (POST /peer/v1/log/stream, served by log-server.ts) for the fetcher, or a
 * sync request (sync-server.ts) for the sync client. The signed request,
 * and the frame decoder keyed with the request's pair key; a refusal (any
 * status but 200) throws a PeerCallError with the start of its text.
 */
import type { InboundResponse } from "../platform/transport.js";
import { PeerCallError, type PeerClient, type PeerCredentials } from "../peer/client.js";
import { acceptedCodecs } from "./compression.js";
import { FrameDecoder } from "./frames.js";

export interface LogStreamRequest {
  resource: string;
  file: string;
  offsetBytes: number;
  /** Ask for compressed DATA frames. */
  acceptCompression: boolean;
}

export function openLogStream(
  client: PeerClient,
  credentials: PeerCredentials,
  source: { host: string; address: string },
  request: LogStreamRequest,
  signal: AbortSignal,
): Promise<{ response: InboundResponse; decoder: FrameDecoder }> {
  const { resource, file, offsetBytes } = request;
  const compression = acceptedCodecs(request.acceptCompression);
  return openFrameStream(
    client,
    credentials,
    source,
    "/peer/v1/log/stream",
    { resource, file, offsetBytes, ...(compression ? { compression } : {}) },
    signal,
  );
}

export async function openFrameStream(
  client: PeerClient,
  credentials: PeerCredentials,
  source: { host: string; address: string },
  path: string,
  body: unknown,
  signal: AbortSignal,
): Promise<{ response: InboundResponse; decoder: FrameDecoder }> {
  const { response, nonce, frameKey } = await client.open(
    credentials,
    source.address,
    "POST",
    path,
    Buffer.from(JSON.stringify(body)),
    source.host,
    signal,
  );
  if (response.status !== 200) {
    const text = await response.body.readAll(65536).catch(() => Buffer.alloc(0));
    throw new PeerCallError(
      response.status,
      "refused",
      `${source.host}: HTTP ${response.status}: ${text.toString().slice(0, 200)}`,
    );
  }
  // Keyed with the pair key the request was signed with: no other member can forge a frame.
  return { response, decoder: new FrameDecoder(frameKey, nonce) };
}

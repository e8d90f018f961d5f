import { PeerCallError } from "../peer/client.js";
import { acceptedCodecs } from "./compression.js";
import { FrameDecoder } from "./frames.js";
export function openLogStream(client, credentials, source, request, signal) {
    const { resource, file, offsetBytes } = request;
    const compression = acceptedCodecs(request.acceptCompression);
    return openFrameStream(client, credentials, source, "/peer/v1/log/stream", { resource, file, offsetBytes, ...(compression ? { compression } : {}) }, signal);
}
export async function openFrameStream(client, credentials, source, path, body, signal) {
    const { response, nonce, frameKey } = await client.open(credentials, source.address, "POST", path, Buffer.from(JSON.stringify(body)), source.host, signal);
    if (response.status !== 200) {
        const text = await response.body.readAll(65536).catch(() => Buffer.alloc(0));
        throw new PeerCallError(response.status, "refused", `${source.host}: HTTP ${response.status}: ${text.toString().slice(0, 200)}`);
    }
    // Keyed with the pair key the request was signed with: no other member can forge a frame.
    return { response, decoder: new FrameDecoder(frameKey, nonce) };
}
//# sourceMappingURL=fetch-stream.js.map
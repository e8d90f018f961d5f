import { MarsError } from "../util/errors.js";
export const PEER_ERROR_CODES = {
    // Refusals of the authentication layer (src/peer/auth.ts RejectReason), HTTP 401/403.
    "missing-headers": "the request is not signed",
    cluster: "the request is for another cluster",
    signature: "the signature does not match",
    stale: "the request time is outside the accepted window",
    replay: "the request was seen before (or signed before the peer restarted)",
    "future-stamp": "the Lamport stamp is too far in the future",
    "unknown-host": "the sender is not a member (or its node key is not known here yet)",
    removed: "the sender was removed from the cluster",
    "wrong-host-key": "the request is not signed with the key registered for the host it claims to come from",
    "certificate-name": "the TLS client certificate names another host than the request claims",
    // Refusals of the peer listener before a route runs.
    "not-found": "no such route",
    "length-required": "the request has no Content-Length",
    "too-large": "the body exceeds the route's cap",
    busy: "too many unauthenticated requests; retry",
    "incomplete-body": "the body ended before its Content-Length",
    malformed: "the request could not be parsed",
    internal: "the route failed unexpectedly",
    // Answers of the routes (src/cluster, src/replication).
    "bad-request": "the body is not what the route expects",
    "no-resource": "the resource is not served here",
    "not-in-cluster": "the answering node is not in a cluster",
    "host-in-use": "a live member already has that name",
    "too-many-regions": "the dirty map holds more regions than a region resync takes: sync the whole disk",
    "logs-gone": "the log files asked for are not all here any more (deleted): copy the whole disk",
    // Error frames of log and sync streams.
    "no-file": "the log file is not (or no longer) here",
    ahead: "the caller holds more of the file than the answering node: the histories diverged",
    "bad-offset": "the requested offset is not a record boundary",
    failed: "the stream failed on the answering side",
    // Read by the calling side when the answer itself is wrong.
    unsigned: "the answer is not signed",
    "bad-response-signature": "the answer's signature does not match",
    "bad-json": "the answer is not JSON",
    refused: "a stream was answered with a non-200 status",
    error: "an error without a code this version knows",
};
// Every refusal of the authentication layer is a code of the table (checked at compile time).
const REJECT_REASONS_ARE_CODES = true;
void REJECT_REASONS_ARE_CODES;
/** The code a peer answered, as this version knows it ("error" if it does not). */
export function toPeerErrorCode(code) {
    return typeof code === "string" && Object.hasOwn(PEER_ERROR_CODES, code)
        ? code
        : "error";
}
/** A peer's answer or stream broke the protocol (wrong offsets, a stream ending early, a malformed answer). */
export class PeerProtocolError extends MarsError {
    constructor(message) {
        super("PEER_PROTOCOL", message);
    }
}
/** Reads an error answer or Error frame's `{ code, message }` from a peer. */
export function readPeerErrorBody(value, fallbackMessage) {
    const e = (typeof value === "object" && value !== null ? value : {});
    return {
        code: toPeerErrorCode(e.code),
        message: typeof e.message === "string" ? e.message : fallbackMessage,
    };
}
//# sourceMappingURL=error-codes.js.map
/**
 * The admin API's bearer token: read from its file, or created there (32
 * random bytes, hex) on first start. The file and its directory are only
 * for root: whoever reads the token controls the node.
 */
import path from "node:path";
import { makeDirectoryDurable, writeFileAtomic } from "../platform/storage/atomic-file.js";
import { MalformedFileError, isErrno } from "../util/errors.js";
/** Shorter tokens are refused: they could be guessed. */
export const MIN_TOKEN_LENGTH = 16;
/** `random` must be crypto-grade (systemRandom) outside tests: the token is a credential. */
export async function readOrCreateToken(storage, random, file) {
    try {
        const token = Buffer.from(await storage.readFile(file))
            .toString("utf8")
            .trim();
        if (token.length < MIN_TOKEN_LENGTH) {
            throw new MalformedFileError(`admin token in ${file} is shorter than ${MIN_TOKEN_LENGTH} characters`);
        }
        return token;
    }
    catch (err) {
        if (!isErrno(err, "ENOENT"))
            throw err;
        const token = random.bytes(32).toString("hex");
        await makeDirectoryDurable(path.dirname(file), storage, { mode: 0o700 });
        await writeFileAtomic(file, token + "\n", storage);
        return token;
    }
}
//# sourceMappingURL=admin-token.js.map
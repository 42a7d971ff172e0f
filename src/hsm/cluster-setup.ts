/**
 * Registering a cluster (`keyhold hsm cluster create`): every token gets the cluster's wrapping
 * key, the one key a KMS key is wrapped under to travel from the token that made it to the others
 * (docs/hsm.md). The wrapping key is generated in the first token; a transport key, random bytes
 * held in this process only for the setup and zeroed after, is put in every token as a session
 * object, the wrapping key travels under it, and is then made non-extractable everywhere. The
 * wrapping key itself is never outside a token in the clear; the transport key is gone when the
 * sessions close.
 */
import { ROOT_KEY_LABEL_PREFIX } from "../keystore/seal.js";
import { randomBytes } from "node:crypto";
import { Token, type KeyRef, type TokenSpec } from "./token.js";
import {
  clusterWrapLabel,
  LABEL_PREFIX,
  newClusterId,
  parseTrustAnchor,
  saveCluster,
  type ClusterRecord,
  type ClusterToken,
} from "./clusters.js";
import type { Repository } from "../store/repository.js";
import type { Clock } from "../clock.js";
import type { TokenOpener } from "./cluster-session.js";

export interface ClusterRequest {
  accountId: string;
  region: string;
  module: string;
  tokens: ClusterToken[];
  trustAnchor: string;
  pin: string;
}

export class ClusterSetupError extends Error {}

export async function createCluster(
  repo: Repository,
  clock: Clock,
  request: ClusterRequest,
  opener: TokenOpener = (s, p) => Token.open(s, p),
): Promise<ClusterRecord> {
  if (request.tokens.length < 1) throw new ClusterSetupError("a cluster needs at least one token (--token-label or --slot)");
  if (!(await repo.getAccount(request.accountId))) throw new ClusterSetupError(`account ${request.accountId} does not exist`);
  parseTrustAnchorOrFail(request.trustAnchor);
  const clusterId = newClusterId();
  const wrapLabel = clusterWrapLabel(clusterId);
  const id = randomBytes(16);
  const tokens: Token[] = [];
  const made: { token: Token; key: KeyRef }[] = [];
  try {
    for (const t of request.tokens) tokens.push(await opener({ module: request.module, ...t } as TokenSpec, request.pin));
    const transport = randomBytes(32);
    const carriers: KeyRef[] = [];
    try {
      for (const token of tokens) carriers.push(await token.importTransportKey(`${LABEL_PREFIX}transport:${clusterId}`, id, transport));
    } finally {
      transport.fill(0);
    }
    const first = await tokens[0]!.generateAesKey(wrapLabel, id, { extractable: true });
    made.push({ token: tokens[0]!, key: first });
    const travelling = await tokens[0]!.wrap(carriers[0]!, first);
    await tokens[0]!.setNotExtractable(first);
    for (let i = 1; i < tokens.length; i++) {
      made.push({ token: tokens[i]!, key: await tokens[i]!.unwrap(carriers[i]!, travelling, wrapLabel, id) });
    }
    for (let i = 0; i < tokens.length; i++) await tokens[i]!.destroy(carriers[i]!);
    const record: ClusterRecord = {
      clusterId,
      accountId: request.accountId,
      region: request.region,
      module: request.module,
      tokens: request.tokens,
      trustAnchor: request.trustAnchor,
      createdAt: clock.now(),
      lineage: clusterId,
    };
    if (!(await saveCluster(repo, record))) throw new ClusterSetupError(`cluster id ${clusterId} is taken; run the command again`);
    made.length = 0;
    return record;
  } finally {
    // A failed setup leaves no wrapping key behind in any token.
    for (const { token, key } of made) await token.destroy(key).catch(() => {});
    for (const token of tokens) await token.close().catch(() => {});
  }
}

function parseTrustAnchorOrFail(pem: string): void {
  try {
    parseTrustAnchor(pem);
  } catch {
    throw new ClusterSetupError("the trust anchor is not a PEM-encoded X.509 certificate");
  }
}

/**
 * Zeroization: every object keyhold made in each token of the cluster destroyed, keyhold's root of
 * trust included when a token of the cluster holds it. Returns, per
 * token, how many objects went, or why the token could not be reached.
 */
export async function zeroizeCluster(
  cluster: ClusterRecord,
  pin: string,
  opener: TokenOpener = (s, p) => Token.open(s, p),
): Promise<{ token: ClusterToken; destroyed?: number; rootOfTrust?: boolean; error?: string }[]> {
  const out: { token: ClusterToken; destroyed?: number; rootOfTrust?: boolean; error?: string }[] = [];
  for (const t of cluster.tokens) {
    let token: Token | undefined;
    try {
      token = await opener({ module: cluster.module, ...t } as TokenSpec, pin);
      const destroyed = await token.destroyByLabelPrefix(LABEL_PREFIX);
      // A token of the cluster that also holds keyhold's root of trust: zeroizing it shreds the
      // whole installation (the root key's seal opens nowhere else), as the operator asked.
      const roots = await token.destroyByLabelPrefix(ROOT_KEY_LABEL_PREFIX);
      out.push({ token: t, destroyed: destroyed + roots, rootOfTrust: roots > 0 });
    } catch (error) {
      out.push({ token: t, error: (error as Error).message });
    } finally {
      await token?.close().catch(() => {});
    }
  }
  return out;
}

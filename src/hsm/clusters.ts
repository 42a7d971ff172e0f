/**
 * HSM clusters: the sets of PKCS#11 tokens an operator registers once (`keyhold hsm cluster
 * create`), named by a CloudHSM-style `cluster-…` id, which is what a custom key store's
 * CloudHsmClusterId names. A cluster belongs to one account, as a CloudHSM cluster does.
 *
 * What keyhold keeps of a cluster is where its tokens are (module path, token labels or slots)
 * and the trust anchor certificate the operator initialized it with. No PIN is kept here: the
 * token user's PIN is the custom key store's KeyStorePassword, wrapped by keyhold's key store.
 */
import { randomInt, X509Certificate } from "node:crypto";
import { ServiceError } from "../errors.js";
import type { Repository } from "../store/repository.js";

export interface ClusterToken {
  tokenLabel?: string;
  slot?: number;
}

export interface ClusterRecord {
  clusterId: string;
  accountId: string;
  region: string;
  /** Path of the PKCS#11 module (.so) every token of the cluster is reached through. */
  module: string;
  tokens: ClusterToken[];
  /** The trust anchor certificate (PEM) the cluster was initialized with, as the operator gave it. */
  trustAnchor: string;
  createdAt: number;
  /**
   * Clusters made from the same tokens share a lineage (CloudHSM: a cluster made from another's
   * backup); UpdateCustomKeyStore moves a store only within it (CloudHsmClusterNotRelatedException).
   */
  lineage: string;
}

const KIND = "hsm-cluster";
/** CloudHSM's cluster ids: `cluster-` and 11 characters of the base32 alphabet, lower case. */
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
export const CLUSTER_ID = /^cluster-[2-7a-zA-Z]{11,16}$/;

/** Labels of every object keyhold puts in a token start with this: zeroization destroys them all. */
export const LABEL_PREFIX = "keyhold:";

/** The cluster's wrapping key: how a key made in one token reaches the others (docs/hsm.md). */
export function clusterWrapLabel(clusterId: string): string {
  return `${LABEL_PREFIX}cluster-wrap:${clusterId}`;
}

/** A KMS key's material in the token is labelled with its key id. */
export function kmsKeyLabel(keyId: string): string {
  return `${LABEL_PREFIX}kms:${keyId}`;
}

export function newClusterId(): string {
  let id = "cluster-";
  for (let i = 0; i < 11; i++) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}

/**
 * The trust anchor as AWS checks it: a PEM X.509 certificate. Two anchors are the same when their
 * certificates are (the DER bytes), whatever the line breaks around them.
 */
export function parseTrustAnchor(pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new ServiceError("IncorrectTrustAnchorException", "The TrustAnchorCertificate is not a PEM-encoded X.509 certificate.");
  }
}

export function sameTrustAnchor(a: string, b: string): boolean {
  try {
    return new X509Certificate(a).raw.equals(new X509Certificate(b).raw);
  } catch {
    return false;
  }
}

export async function getCluster(repo: Repository, accountId: string, clusterId: string): Promise<ClusterRecord | undefined> {
  const doc = await repo.getDocument(KIND, accountId, clusterId);
  return doc && (JSON.parse(doc.body) as ClusterRecord);
}

export async function listClusters(repo: Repository, accountId: string): Promise<ClusterRecord[]> {
  const out: ClusterRecord[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await repo.listDocuments(KIND, accountId, "cluster-", after, 100);
    for (const d of page.items) out.push(JSON.parse(d.body) as ClusterRecord);
    if (page.next === undefined) return out;
    after = page.next;
  }
}

export async function saveCluster(repo: Repository, cluster: ClusterRecord): Promise<boolean> {
  return repo.putDocument(
    {
      kind: KIND,
      accountId: cluster.accountId,
      name: cluster.clusterId,
      body: JSON.stringify(cluster),
      revision: 1,
      createdAt: cluster.createdAt,
    },
    "new",
  );
}

export async function deleteCluster(repo: Repository, accountId: string, clusterId: string): Promise<boolean> {
  return repo.deleteDocument(KIND, accountId, clusterId);
}

/** How a token of the cluster is named in messages: never with the PIN. */
export function tokenName(t: ClusterToken): string {
  return t.tokenLabel !== undefined ? `token '${t.tokenLabel}'` : `slot ${t.slot}`;
}

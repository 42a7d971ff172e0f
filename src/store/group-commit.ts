/**
 * Group commit of documents. Each putDocument is its own commit, and a commit waits for the disk
 * (SQLite's synchronous=FULL: an fsync, on the event loop): a busy service writing one document
 * per request pays that wait once per request. The writes asked for here go to the repository
 * together, as one putDocuments (one transaction, one commit): those of one turn of the event loop,
 * and while the turns after it bring more (requests that came in meanwhile), theirs too, for up to
 * maxWaitMs after the first, or until maxBatch are waiting. An idle server commits at the end of
 * the turn after the write. Each caller's promise resolves with its own result once that commit is
 * durable, as putDocument's would: nothing is acknowledged before it is on disk, and a failed
 * commit fails every write in it, none of them made.
 */
import type { DocumentRecord } from "./records.js";
import type { DocumentWrite, Repository } from "./repository.js";

interface Pending {
  write: DocumentWrite;
  resolve: (made: boolean) => void;
  reject: (error: unknown) => void;
}

export class DocumentGroupCommit {
  private pending: Pending[] = [];
  private scheduled = false;
  /** When the waiting group's first write came, and how many writes it had at the last turn's end. */
  private since = 0;
  private seen = 0;
  /** Commits made and documents written through them (what the tests and the benchmark read). */
  commits = 0;
  documents = 0;

  constructor(
    private readonly repo: Pick<Repository, "putDocuments">,
    /** At most this many documents in one commit: a larger group is committed at once. */
    private readonly maxBatch = 64,
    /** How long the first write of a group waits at most for others to join it (while they keep coming). */
    private readonly maxWaitMs = 10,
  ) {}

  /** putDocument's contract, committed with the writes of the same turns. */
  put(doc: DocumentRecord, expectedRevision: number | "new"): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({ write: { doc, expectedRevision }, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.commit();
      else if (!this.scheduled) {
        this.scheduled = true;
        this.since = performance.now();
        this.seen = 0;
        setImmediate(this.tick);
      }
    });
  }

  /**
   * At the end of a turn: while the turn brought more writes (requests that came in meanwhile),
   * wait one more turn for the next ones, up to maxWaitMs; then commit.
   */
  private readonly tick = (): void => {
    if (this.pending.length > this.seen && this.pending.length > 0 && performance.now() - this.since < this.maxWaitMs) {
      this.seen = this.pending.length;
      setImmediate(this.tick);
      return;
    }
    this.scheduled = false;
    this.commit();
  };

  private commit(): void {
    const group = this.pending;
    if (group.length === 0) return;
    this.pending = [];
    this.since = performance.now();
    this.seen = 0;
    this.commits++;
    this.documents += group.length;
    let done: Promise<boolean[]>;
    try {
      done = this.repo.putDocuments(group.map((p) => p.write));
    } catch (error) {
      done = Promise.reject(error);
    }
    done.then(
      (made) => group.forEach((p, i) => p.resolve(made[i] === true)),
      (error: unknown) => group.forEach((p) => p.reject(error)),
    );
  }
}

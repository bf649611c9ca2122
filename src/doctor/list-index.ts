// A compact membership index of a Redis list of task IDs: sorted 53-bit hashes, 8 bytes per member.
//
// Checking "is this task's ID in pending?" for every task hash with LPOS costs O(N) each, O(N²) in
// all; a JS Set of a million IDs costs ~100 MB. The index keeps one Float64 per member (8 MB per
// million) and answers in O(log N). A hash collision could hide an orphan (probability about
// N / 2^53 per lookup, ~1e-10 for a million members); a miss is always re-checked against Redis.
// Lists larger than the budget are indexed one partition (hash mod K) at a time.

/** cyrb53 (public domain, bryc): a fast, well-mixed 53-bit string hash. */
function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The members of one partition of a list, as sorted hashes. */
export class ListIndex {
  private hashes = new Float64Array(1024);
  private size = 0;
  private sorted = true;

  /**
   * @param partitions K: the list is indexed in K parts by hash mod K.
   * @param partition which part this index holds (0..K-1).
   */
  constructor(
    readonly partitions = 1,
    readonly partition = 0,
  ) {}

  /** Whether this index is responsible for `id` (its partition). */
  covers(id: string): boolean {
    return this.partitions === 1 || hash53(id) % this.partitions === this.partition;
  }

  /** Adds the members of a chunk that fall into this partition. */
  addAll(ids: readonly string[]): void {
    for (const id of ids) {
      const h = hash53(id);
      if (this.partitions > 1 && h % this.partitions !== this.partition) continue;
      if (this.size === this.hashes.length) {
        const grown = new Float64Array(this.hashes.length * 2);
        grown.set(this.hashes);
        this.hashes = grown;
      }
      this.hashes[this.size++] = h;
      this.sorted = false;
    }
  }

  /** Whether `id` was added (up to a hash collision). */
  has(id: string): boolean {
    if (!this.sorted) {
      this.hashes = this.hashes.slice(0, this.size).sort();
      this.sorted = true;
    }
    const h = hash53(id);
    let lo = 0;
    let hi = this.size - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const value = this.hashes[mid]!;
      if (value === h) return true;
      if (value < h) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Number of members indexed. */
  get count(): number {
    return this.size;
  }

  /** Bytes held by the index. */
  get bytes(): number {
    return this.hashes.byteLength;
  }
}

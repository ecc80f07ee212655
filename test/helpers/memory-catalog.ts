/** A Map-backed Catalog with the same semantics as DynamoCatalog, and a count of write requests. */
import { FAILURE, rowKind } from '../../src/core/layout';
import type { Catalog, CatalogRow, FailureRow, HashUse, PutRowsOptions } from '../../src/core/ports';

export class MemoryCatalog implements Catalog {
  readonly rows = new Map<string, CatalogRow>();
  readonly failures = new Map<string, FailureRow>();
  readonly claims = new Map<string, { owner: string; leaseUntil: number }>();
  writeRequests = 0;
  readRequests = 0;
  now = () => Date.now();

  async rowsForKey(sourceKey: string): Promise<CatalogRow[]> {
    return [...this.rows.values()].filter((row) => row.sourceKey === sourceKey).map((row) => ({ ...row }));
  }

  async rowsForKeys(sourceKeys: readonly string[], kinds: readonly string[]): Promise<Map<string, CatalogRow[]>> {
    this.readRequests += Math.ceil((new Set(sourceKeys).size * new Set(kinds).size) / 100);
    const found = new Map<string, CatalogRow[]>();
    for (const sourceKey of new Set(sourceKeys)) {
      const rows = [...new Set(kinds)].map((kind) => this.rows.get(`${sourceKey}\u0000${kind}`)).filter((row) => row !== undefined);
      if (rows.length > 0) found.set(sourceKey, rows.map((row) => ({ ...row })));
    }
    return found;
  }

  async keysForHash(sha256: string): Promise<HashUse[]> {
    return [...this.rows.values()].filter((row) => row.sha256 === sha256).map(({ sourceKey, preset }) => ({ sourceKey, preset }));
  }

  async putRows(rows: CatalogRow[], options: PutRowsOptions = {}): Promise<void> {
    this.writeRequests += Math.ceil(rows.length / 25);
    for (const row of rows) {
      this.rows.set(`${row.sourceKey}\u0000${row.preset}`, { ...row });
      if (options.replaceFailure) this.failures.delete(row.sourceKey);
    }
    for (const sha256 of options.releaseClaims ?? []) this.claims.delete(sha256);
  }

  async deleteRows(sourceKey: string, presets: readonly string[]): Promise<void> {
    this.writeRequests += Math.ceil(new Set(presets).size / 25);
    for (const preset of presets) {
      if (rowKind(preset).kind === 'failure') this.failures.delete(sourceKey);
      else this.rows.delete(`${sourceKey}\u0000${preset}`);
    }
  }

  async recordFailure(row: FailureRow): Promise<void> {
    this.writeRequests++;
    this.failures.set(row.sourceKey, { ...row, preset: FAILURE });
  }

  async failureFor(sourceKey: string): Promise<FailureRow | undefined> {
    return this.failures.get(sourceKey);
  }

  async claimContent(sha256: string, owner: string, leaseMs: number): Promise<boolean> {
    const claim = this.claims.get(sha256);
    if (claim && claim.owner !== owner && claim.leaseUntil >= this.now()) return false;
    this.claims.set(sha256, { owner, leaseUntil: this.now() + leaseMs });
    return true;
  }
}

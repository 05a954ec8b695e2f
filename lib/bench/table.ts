/** Plain-text tables for the bench's stdout: padded columns, numbers right-aligned. */
import type { PeerName } from './peers';
import type { Cell } from './session';

export interface Column {
  title: string;
  right?: boolean;
}

export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (s: string, i: number): string => (columns[i].right ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const line = (cells: readonly string[]): string => cells.map((s, i) => pad(s, i)).join('  ').trimEnd();
  return [line(columns.map((c) => c.title)), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(r))].join('\n');
}

/** A number with about three significant digits (at least one decimal below 1000). */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 100) return x.toFixed(1);
  if (a >= 10) return x.toFixed(2);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

export function cellText(c: Cell): string {
  return c.ok ? fmt(c.value) : `n/a (${c.na})`;
}

/** ours/peer with two decimals, two significant digits below 0.1 (tfjs-cpu's ratios are around 0.001), '-' when either is missing. */
export function ratioText(r: number | null): string {
  if (r === null) return '-';
  return r < 0.1 ? r.toPrecision(2) : r.toFixed(2);
}

export function ratio(ours: Cell, peer: Cell): number | null {
  return ours.ok && peer.ok && peer.value > 0 ? ours.value / peer.value : null;
}

/** The n/a details of a table's cells, one line per distinct (who, detail). */
export function naNotes(cells: readonly { who: string; cell: Cell }[]): string[] {
  const seen = new Set<string>();
  const notes: string[] = [];
  for (const { who, cell } of cells) {
    if (cell.ok) continue;
    const line = `  ${who}: n/a (${cell.na}): ${cell.detail}`;
    if (!seen.has(line)) {
      seen.add(line);
      notes.push(line);
    }
  }
  return notes;
}

/** A table row that sets ours beside each peer: the cells and ours/peer. */
export interface Compared {
  ours: Cell;
  peers: Partial<Record<PeerName, Cell>>;
  ratios: Partial<Record<PeerName, number | null>>;
}

/** Each peer's value column (in `unit`) and its ours/peer column. */
export function peerColumns(peerNames: readonly PeerName[], unit: string): Column[] {
  return peerNames.flatMap((p) => [{ title: `${p} ${unit}`, right: true }, { title: `ours/${p}`, right: true }]);
}

/** A row's cells under peerColumns. */
export function peerCells(r: Compared, peerNames: readonly PeerName[]): string[] {
  return peerNames.flatMap((p) => [r.peers[p] ? cellText(r.peers[p]!) : '-', ratioText(r.ratios[p] ?? null)]);
}

/** The n/a lines of a table's rows under 'n/a:' (none when every cell has a value); `tag` names a row where the table mixes kinds. */
export function naSection<R extends Compared>(rows: readonly R[], peerNames: readonly PeerName[], tag: (r: R) => string = () => ''): string[] {
  const who = (side: string, r: R): string => [side, tag(r)].filter((s) => s !== '').join(' ');
  const notes = naNotes(rows.flatMap((r) => [
    { who: who('ours', r), cell: r.ours },
    ...peerNames.flatMap((p) => (r.peers[p] ? [{ who: who(p, r), cell: r.peers[p]! }] : [])),
  ]));
  return notes.length ? ['n/a:', ...notes] : [];
}

/**
 * Loader for the transparency-dev/merkle RFC 6962 vectors kept in libs/ledger-core/test-vectors
 * (copied from the transparency-dev/merkle repository, testdata/rfc6962). Indexes and sizes are read as bigint, because one case
 * uses 2^64 - 1, which a JS number cannot hold.
 */
import { readFileSync } from 'node:fs';

/** libs/ledger-core/test-vectors/rfc6962, found from dist/libs/ledger-core/src/testing/. */
export const VECTORS_DIR = new URL('../../../../../libs/ledger-core/test-vectors/rfc6962/', import.meta.url);

export interface InclusionCase {
  readonly leafIdx: bigint;
  readonly treeSize: bigint;
  readonly root: Uint8Array;
  readonly leafHash: Uint8Array;
  readonly proof: Uint8Array[];
  readonly wantErr: boolean;
  readonly desc: string;
  readonly file: string;
}

export interface ConsistencyCase {
  readonly size1: bigint;
  readonly size2: bigint;
  readonly root1: Uint8Array;
  readonly root2: Uint8Array;
  readonly proof: Uint8Array[];
  readonly wantErr: boolean;
  readonly desc: string;
  readonly file: string;
}

type Raw = Record<string, unknown>;

function load(name: string, intFields: readonly string[]): Raw[] {
  const text = readFileSync(new URL(name, VECTORS_DIR), 'utf8');
  // Quote the integer fields before JSON.parse so that no digit is lost to float rounding.
  const quoted = text.replace(new RegExp(`("(?:${intFields.join('|')})"\\s*:\\s*)(\\d+)`, 'g'), '$1"$2"');
  const parsed: unknown = JSON.parse(quoted);
  if (!Array.isArray(parsed)) throw new Error(`${name}: expected an array`);
  return parsed as Raw[];
}

function big(v: unknown, what: string): bigint {
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new Error(`${what}: expected an integer`);
  return BigInt(v);
}

function b64(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string') throw new Error(`${what}: expected base64 text`);
  return Uint8Array.from(Buffer.from(v, 'base64'));
}

function proof(v: unknown, what: string): Uint8Array[] {
  if (v === null) return [];
  if (!Array.isArray(v)) throw new Error(`${what}: expected an array or null`);
  return v.map((p, i) => b64(p, `${what}[${i}]`));
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what}: expected a string`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new Error(`${what}: expected a boolean`);
  return v;
}

export function loadInclusionCases(): InclusionCase[] {
  return load('inclusion.json', ['leafIdx', 'treeSize']).map((c, i) => ({
    leafIdx: big(c.leafIdx, `inclusion[${i}].leafIdx`),
    treeSize: big(c.treeSize, `inclusion[${i}].treeSize`),
    root: b64(c.root, `inclusion[${i}].root`),
    leafHash: b64(c.leafHash, `inclusion[${i}].leafHash`),
    proof: proof(c.proof, `inclusion[${i}].proof`),
    wantErr: bool(c.wantErr, `inclusion[${i}].wantErr`),
    desc: str(c.desc, `inclusion[${i}].desc`),
    file: str(c.file, `inclusion[${i}].file`),
  }));
}

export function loadConsistencyCases(): ConsistencyCase[] {
  return load('consistency.json', ['size1', 'size2']).map((c, i) => ({
    size1: big(c.size1, `consistency[${i}].size1`),
    size2: big(c.size2, `consistency[${i}].size2`),
    root1: b64(c.root1, `consistency[${i}].root1`),
    root2: b64(c.root2, `consistency[${i}].root2`),
    proof: proof(c.proof, `consistency[${i}].proof`),
    wantErr: bool(c.wantErr, `consistency[${i}].wantErr`),
    desc: str(c.desc, `consistency[${i}].desc`),
    file: str(c.file, `consistency[${i}].file`),
  }));
}

/** Leaf inputs 0..7 and roots by size 0..8, as listed in the vectors' README (from constants.go). */
export const README_LEAVES_HEX = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];

export const README_ROOTS_HEX = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/**
 * The one place that imports node-seal (SEAL 4.1 compiled to WebAssembly, "throws" build so C++
 * exceptions surface as JS errors). One WebAssembly instance per thread, loaded lazily and shared by
 * every engine of that thread. Moving to node-seal 7 should only touch this file.
 * @module
 */
import SEALModule from 'node-seal/throws_wasm_node_umd.js';

/**
 * The UMD bundle sets `module.exports` to the factory; under Node's ESM-CJS interop the default import
 * is that function, while TypeScript (reading the `export default` declaration of a CJS file) types it as
 * `{ default: factory }`. Accept both shapes.
 */
type SealFactory = typeof SEALModule.default;
const SEAL: SealFactory = typeof (SEALModule as unknown) === 'function' ? (SEALModule as unknown as SealFactory) : SEALModule.default;

export type SealLib = Awaited<ReturnType<SealFactory>>;
export type SealContext = ReturnType<SealLib['Context']>;
export type SealCipherText = ReturnType<SealLib['CipherText']>;
export type SealPlainText = ReturnType<SealLib['PlainText']>;
export type SealPublicKey = ReturnType<SealLib['PublicKey']>;
export type SealSecretKey = ReturnType<SealLib['SecretKey']>;
export type SealRelinKeys = ReturnType<SealLib['RelinKeys']>;
export type SealGaloisKeys = ReturnType<SealLib['GaloisKeys']>;
export type SealEncryptor = ReturnType<SealLib['Encryptor']>;
export type SealDecryptor = ReturnType<SealLib['Decryptor']>;
export type SealEvaluator = ReturnType<SealLib['Evaluator']>;
export type SealEncoder = ReturnType<SealLib['CKKSEncoder']>;
export type SealBatchEncoder = ReturnType<SealLib['BatchEncoder']>;
export type SealParmsId = ReturnType<SealLib['ParmsIdType']>;

let loading: Promise<SealLib> | undefined;

/** The SEAL library of this thread (instantiated once). */
export function loadSeal(): Promise<SealLib> {
  loading ??= SEAL();
  return loading;
}

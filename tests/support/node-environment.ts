import NodeEnvironment from 'jest-environment-node';

/**
 * Jest's sandbox has typed-array classes of its own, so onnxruntime-node's `instanceof Float32Array`
 * checks fail on arrays made inside a test ("A float32 tensor's data must be type of function
 * Float32Array()"). Copying the host's constructors into the sandbox makes both sides agree.
 */
const HOST_CLASSES = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
] as const;

export default class OnnxFriendlyNodeEnvironment extends NodeEnvironment {
  override async setup(): Promise<void> {
    await super.setup();
    const sandbox = this.global as unknown as Record<string, unknown>;
    const host = globalThis as unknown as Record<string, unknown>;
    for (const name of HOST_CLASSES) sandbox[name] = host[name];
  }
}

/* How JavaScript hands tensors to mmrun's native kernels: koffi passes the tfjs wasm backend's
 * WebAssembly memory as `uint8_t *heap` (not copied), and every tensor argument is a byte offset
 * into it, so kernels read and write tensors where the backend keeps them. Offset 0 means "none"
 * (the wasm heap never places a tensor there). */
#ifndef MMRUN_HEAP_H
#define MMRUN_HEAP_H
#include <stdint.h>

#define F32(off) ((float *)(heap + (off)))

#endif

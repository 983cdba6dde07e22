// Includes hnswlib (header-only; Debian's libhnswlib-dev 0.6.2) so that more
// than one translation unit of a program may: its headers define a few
// functions and function-pointer variables at namespace scope without
// `inline`, which would clash at link time (the benchmark includes hnswlib
// too, and links this library). Each includer first defines
// STRATA_HNSWLIB_TU to a name of its own; those names get it as a prefix.
// Only index/ and its benchmark include this.
#pragma once

#ifndef STRATA_HNSWLIB_TU
#error "define STRATA_HNSWLIB_TU before including index/hnswlib_wrap.h"
#endif

// hnswlib 0.6.2's graph walk prefetches the neighbour after the last one of
// a link list, so it reads 4 bytes past the end of an upper-level list (a
// malloc'd block of size * level + 1 bytes). The value only feeds a prefetch
// hint and the block's allocator padding covers it, but AddressSanitizer
// rightly reports the read: sanitizer builds compile hnswlib without its
// manual vectorisation, which takes the prefetches out. Strata's distance
// kernels (index/distance.h) are its own and unaffected.
#if defined(__SANITIZE_ADDRESS__) && !defined(NO_MANUAL_VECTORIZATION)
#define NO_MANUAL_VECTORIZATION
#endif

#define STRATA_HNSWLIB_CAT2(a, b) a##_##b
#define STRATA_HNSWLIB_CAT(a, b) STRATA_HNSWLIB_CAT2(a, b)
#define cpuid STRATA_HNSWLIB_CAT(STRATA_HNSWLIB_TU, cpuid)
#define xgetbv STRATA_HNSWLIB_CAT(STRATA_HNSWLIB_TU, xgetbv)
#define AVXCapable STRATA_HNSWLIB_CAT(STRATA_HNSWLIB_TU, AVXCapable)
#define AVX512Capable STRATA_HNSWLIB_CAT(STRATA_HNSWLIB_TU, AVX512Capable)
#define L2SqrSIMD16Ext STRATA_HNSWLIB_CAT(STRATA_HNSWLIB_TU, L2SqrSIMD16Ext)
#define InnerProductSIMD16Ext STRATA_HNSWLIB_CAT(STRATA_HNSWLIB_TU, InnerProductSIMD16Ext)
#define InnerProductSIMD4Ext STRATA_HNSWLIB_CAT(STRATA_HNSWLIB_TU, InnerProductSIMD4Ext)
#define InnerProductDistanceSIMD16Ext STRATA_HNSWLIB_CAT(STRATA_HNSWLIB_TU, InnerProductDistanceSIMD16Ext)
#define InnerProductDistanceSIMD4Ext STRATA_HNSWLIB_CAT(STRATA_HNSWLIB_TU, InnerProductDistanceSIMD4Ext)
#include <hnswlib/hnswlib.h>
#undef cpuid
#undef xgetbv
#undef AVXCapable
#undef AVX512Capable
#undef L2SqrSIMD16Ext
#undef InnerProductSIMD16Ext
#undef InnerProductSIMD4Ext
#undef InnerProductDistanceSIMD16Ext
#undef InnerProductDistanceSIMD4Ext

#ifndef CZSTD_SHIM_H
#define CZSTD_SHIM_H
// ZSTD_getErrorName etc. are plain functions; the shim only exists so SwiftPM has one header to import.
#include <zstd.h>
#endif

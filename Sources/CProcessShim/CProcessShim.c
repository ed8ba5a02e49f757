// Everything lives in include/CProcessShim.h as static inline functions; SwiftPM needs one
// source file per C target.
#include "CProcessShim.h"

/* sync: versions (sync.h) */
#include "sync.h"

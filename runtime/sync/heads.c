/* sync: heads (sync.h) */
#include "sync.h"

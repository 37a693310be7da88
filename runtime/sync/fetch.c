/* sync: fetch (sync.h) */
#include "sync.h"

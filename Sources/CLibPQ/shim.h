#ifndef DV_CLIBPQ_SHIM_H
#define DV_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif

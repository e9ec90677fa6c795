#ifndef DV_CCURL_SHIM_H
#define DV_CCURL_SHIM_H
#include <curl/curl.h>
#endif

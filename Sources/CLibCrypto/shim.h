#ifndef DV_CLIBCRYPTO_SHIM_H
#define DV_CLIBCRYPTO_SHIM_H
#include <openssl/opensslv.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#endif

#ifndef DV_CCURLSHIM_H
#define DV_CCURLSHIM_H
/* Typed, fixed-arity wrappers around libcurl's variadic curl_easy_setopt and
   curl_easy_getinfo, which Swift cannot call. One function per argument type. */
#include <curl/curl.h>

CURLcode dv_curl_setopt_long(CURL *h, CURLoption opt, long value);
CURLcode dv_curl_setopt_off_t(CURL *h, CURLoption opt, curl_off_t value);
CURLcode dv_curl_setopt_string(CURL *h, CURLoption opt, const char *value);
CURLcode dv_curl_setopt_pointer(CURL *h, CURLoption opt, void *value);
CURLcode dv_curl_setopt_slist(CURL *h, CURLoption opt, struct curl_slist *value);
CURLcode dv_curl_setopt_write_function(CURL *h, CURLoption opt, curl_write_callback value);
CURLcode dv_curl_setopt_read_function(CURL *h, CURLoption opt, curl_read_callback value);
CURLcode dv_curl_setopt_xferinfo_function(CURL *h, curl_xferinfo_callback value);
CURLcode dv_curl_setopt_debug_function(CURL *h, curl_debug_callback value);

CURLcode dv_curl_getinfo_long(CURL *h, CURLINFO info, long *value);
CURLcode dv_curl_getinfo_off_t(CURL *h, CURLINFO info, curl_off_t *value);
CURLcode dv_curl_getinfo_string(CURL *h, CURLINFO info, const char **value);

/* CURLVERSION_NOW names an enum constant through a macro; Swift does not import it. */
curl_version_info_data *dv_curl_version_info(void);
#endif

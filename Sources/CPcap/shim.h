#ifndef BASETAP_CPCAP_SHIM_H
#define BASETAP_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif

/* The few DPDK calls the datapath's DPDK backend needs, as plain functions: most of the
 * DPDK fast-path API (rte_eth_tx_burst, rte_pktmbuf_alloc/append) is static inline and
 * cannot be called through bindings. Built only with the `dpdk` feature. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

static struct rte_mempool *tsn_pool;

/* rte_eal_init once; returns 0 or -errno. */
int tsn_dpdk_init(int argc, char **argv) {
    if (rte_eal_init(argc, argv) < 0)
        return -rte_errno;
    tsn_pool = rte_pktmbuf_pool_create("tsn_pool", 2047, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
    if (tsn_pool == NULL)
        return -rte_errno;
    return 0;
}

/* Creates vdev `name` with `args` (e.g. "iface=veth0") in the calling thread's network
 * namespace, configures one RX and one TX queue and starts it. Returns the port id or
 * -errno. */
int tsn_dpdk_attach(const char *name, const char *args) {
    uint16_t port;
    int r = rte_vdev_init(name, args);
    if (r < 0)
        return r;
    if (rte_eth_dev_get_port_by_name(name, &port) != 0)
        return -ENODEV;
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    if ((r = rte_eth_dev_configure(port, 1, 1, &conf)) < 0)
        return r;
    if ((r = rte_eth_rx_queue_setup(port, 0, 256, rte_eth_dev_socket_id(port), NULL, tsn_pool)) < 0)
        return r;
    if ((r = rte_eth_tx_queue_setup(port, 0, 256, rte_eth_dev_socket_id(port), NULL)) < 0)
        return r;
    if ((r = rte_eth_dev_start(port)) < 0)
        return r;
    return port;
}

/* Sends one frame; 0, -ENOBUFS (no mbuf) or -EAGAIN (TX ring full). */
int tsn_dpdk_send(uint16_t port, const uint8_t *data, uint16_t len) {
    struct rte_mbuf *m = rte_pktmbuf_alloc(tsn_pool);
    if (m == NULL)
        return -ENOBUFS;
    char *p = rte_pktmbuf_append(m, len);
    if (p == NULL) {
        rte_pktmbuf_free(m);
        return -EMSGSIZE;
    }
    memcpy(p, data, len);
    if (rte_eth_tx_burst(port, 0, &m, 1) != 1) {
        rte_pktmbuf_free(m);
        return -EAGAIN;
    }
    return 0;
}

/* Stops and removes a port created by tsn_dpdk_attach. */
void tsn_dpdk_detach(uint16_t port, const char *name) {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    rte_vdev_uninit(name);
}

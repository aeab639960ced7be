// The nodes sharing the database (GET /v1/cluster), as a card on the
// overview: shown only when the server is in a cluster (a server on SQLite
// lists no node). docs/cluster.md.
import { h, card, table, badge, time } from './ui.js';

// A card for cluster (the API's answer), or null when there is no node.
export function clusterCard(cluster) {
  if (!cluster || !cluster.nodes || !cluster.nodes.length) return null;
  const cols = [{ label: 'Node' }, { label: 'Role' }, { label: 'Status' }, { label: 'Last heartbeat' }, { label: 'Destinations', cls: 'num' }];
  const rows = cluster.nodes.map((n) => [
    h('span', { title: n.listen }, n.id, n.id === cluster.node_id ? h('span', { class: 'muted' }, ' (this one)') : null),
    n.role,
    badge(n.status, n.status === 'alive' ? 'ok' : 'bad'),
    time(n.last_seen_at),
    String(n.destinations),
  ]);
  return card('Cluster', table(cols, rows, { id: 'cluster-table' }), { flush: true });
}

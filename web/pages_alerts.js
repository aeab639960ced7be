// Alerts: notification channels (webhook, Slack, Discord, e-mail) and the
// alert rules that send to them (docs/api.md "Notification channels",
// "Alert rules"), and the notifications they sent (docs/api.md
// "Notifications": the newest, with their status and last error). A
// channel can be tested at once; a rule shows whether it is firing.
// Configs are edited as JSON, checked by the server (a 400 is shown next
// to the form, naming the field).
import { api, get } from './api.js';
import { h, card, pageHead, table, badge, time, mono, empty, field, select, button, toast, act } from './ui.js';
import { onSubmit, parseJson, deleteThen } from './forms.js';

const CONFIG_EXAMPLE = {
  webhook: '{"url": "https://ops.example.com/hooks/alerts", "secret": "a-signing-secret"}',
  slack: '{"url": "https://hooks.slack.com/services/…"}',
  discord: '{"url": "https://discord.com/api/webhooks/…"}',
  email: '{"to": ["oncall@example.com"]}',
};
const RULE_EXAMPLE = {
  failure_rate: '{"threshold": 20, "window_minutes": 5, "min_attempts": 10}',
  latency: '{"threshold": 2000, "window_minutes": 5, "statistic": "p95"}',
  volume_drop: '{"drop_percent": 80, "window_minutes": 60}',
  dlq: '{"threshold": 1, "window_minutes": 60}',
  issue_opened: '{}',
};

export async function render(ctx) {
  await ctx.names.load();
  if (!ctx.alive()) return;
  const [{ notification_channels: channels }, { alert_rules: rules }, { notifications }] = await Promise.all([
    get('/v1/notification-channels?limit=100'), get('/v1/alert-rules?limit=100'), get('/v1/notifications?limit=20')]);
  if (!ctx.alive()) return;
  const chSlot = h('div');
  const ruleSlot = h('div');
  const toggle = (slot, make) => () => {
    if (slot.firstChild) slot.replaceChildren();
    else slot.append(make(ctx, slot, channels));
  };
  ctx.view.append(
    pageHead('Alerts', { actions: [button('New channel', toggle(chSlot, channelForm), 'btn-primary', { id: 'new-channel-btn' }),
      button('New rule', toggle(ruleSlot, ruleForm), '', { id: 'new-rule-btn' })] }),
    h('p', { class: 'muted' }, 'Alert rules watch failure rates, latency, volume, dead letters and new issues, and notify channels; each fires once per cooldown and says when it clears.'),
    chSlot,
    card('Notification channels', channelList(ctx, channels), { flush: true }),
    ruleSlot,
    card('Alert rules', ruleList(ctx, rules, channels), { flush: true }),
    card('Notifications sent', notificationList(notifications, channels), { flush: true }),
  );
}

const NOTIFICATION_KIND = { sent: 'ok', pending: 'warn', failed: 'bad' };

// The newest notifications: what, to which channel, and how it went.
function notificationList(notifications, channels) {
  if (!notifications.length) return empty('No notifications yet', 'Rules that fire and issues that open send them here.');
  const channelName = (id) => channels.find((c) => c.id === id)?.name || id;
  const cols = [{ label: 'Notification' }, { label: 'Channel' }, { label: 'Status' }, { label: 'Attempts', cls: 'num' }, { label: 'Created' }];
  return table(cols, notifications.map((n) => [
    h('div', null, mono(n.type), h('div', { class: 'muted small' }, n.title)),
    channelName(n.channel_id),
    h('div', null, badge(n.status, NOTIFICATION_KIND[n.status]),
      n.last_error ? h('div', { class: 'muted small', title: n.last_error }, n.last_error) : null),
    `${n.attempts} of ${n.max_attempts}`,
    time(n.created_at),
  ]), { id: 'notifications-table' });
}

function channelList(ctx, channels) {
  if (!channels.length) return empty('No notification channels', 'Add a webhook, Slack, Discord or e-mail channel, then rules that use it.');
  const cols = [{ label: 'Name' }, { label: 'Type' }, { label: 'Target', cls: 'clip' }, { label: 'Created' }, { label: '' }];
  return table(cols, channels.map((c) => [
    h('div', null, c.name, h('div', { class: 'muted small mono' }, c.id)),
    badge(c.channel_type, 'info'),
    mono(c.config.url || (c.config.to || []).join(', ')),
    time(c.created_at),
    h('div', { class: 'actions' },
      button('Test', () => act(async () => {
        const r = await api('POST', `/v1/notification-channels/${encodeURIComponent(c.id)}/test`);
        toast(r.ok ? `Test sent to “${c.name}”` : `Test failed: ${r.error}`, !r.ok);
      }), 'btn-sm test-channel'),
      button('Delete', () => deleteThen(`Delete channel “${c.name}”? Rules using it skip it.`,
        '/v1/notification-channels/' + encodeURIComponent(c.id), 'Channel', ctx.refresh), 'btn-sm btn-danger')),
  ]), { id: 'channels-table' });
}

function ruleList(ctx, rules, channels) {
  if (!rules.length) return empty('No alert rules', 'A rule needs at least one channel.');
  const chName = new Map(channels.map((c) => [c.id, c.name]));
  const cols = [{ label: 'Name' }, { label: 'Type' }, { label: 'Scope' }, { label: 'Channels' }, { label: 'State' },
    { label: 'Last fired' }, { label: '' }];
  const path = (r) => '/v1/alert-rules/' + encodeURIComponent(r.id);
  return table(cols, rules.map((r) => [
    h('div', null, r.name, h('div', { class: 'muted small mono' }, JSON.stringify(r.rule_config))),
    mono(r.rule_type),
    r.destination_id ? ctx.names.destination(r.destination_id) : r.source_id ? ctx.names.source(r.source_id) : h('span', { class: 'muted' }, 'everything'),
    r.channel_ids.map((id) => chName.get(id) || id).join(', '),
    r.enabled ? badge(r.state, r.state === 'firing' ? 'bad' : 'ok') : badge('disabled', 'warn'),
    r.last_fired_at ? time(r.last_fired_at) : h('span', { class: 'muted' }, 'never'),
    h('div', { class: 'actions' },
      button(r.enabled ? 'Disable' : 'Enable', () => act(async () => {
        await api('PATCH', path(r), { enabled: !r.enabled });
        ctx.refresh();
      }), 'btn-sm'),
      button('Delete', () => deleteThen(`Delete rule “${r.name}”?`, path(r), 'Rule', ctx.refresh), 'btn-sm btn-danger')),
  ]), { id: 'rules-table' });
}

// A JSON box whose example follows the type chosen.
function typedJson(typeSel, examples, path) {
  const area = h('textarea', { name: path, 'data-path': path, spellcheck: 'false', rows: 3 });
  const follow = () => { area.placeholder = examples[typeSel.value]; };
  typeSel.addEventListener('change', follow);
  follow();
  return area;
}

function channelForm(ctx, slot) {
  const err = h('div', { class: 'field wide' });
  const name = h('input', { type: 'text', name: 'name', 'data-path': 'name', required: true, maxlength: 200, placeholder: 'on-call' });
  const type = select(Object.keys(CONFIG_EXAMPLE).map((t) => [t, t]), { name: 'channel_type', 'data-path': 'channel_type' });
  const config = typedJson(type, CONFIG_EXAMPLE, 'config');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create channel');
  const form = h('form', { class: 'form', id: 'new-channel', novalidate: true },
    field('Name', name), field('Type', type),
    field('Config (JSON)', config, 'webhook: url, secret (signs the body); slack, discord: url; email: to', true),
    h('div', { class: 'form-actions' }, submit, button('Cancel', () => slot.replaceChildren(), 'btn-ghost')), err);
  onSubmit(form, {
    submit, err,
    run: async () => {
      await api('POST', '/v1/notification-channels', { name: name.value.trim(), channel_type: type.value, config: parseJson(config.value, 'config', {}) });
      toast('Channel created');
      ctx.refresh();
    },
  });
  return card('New notification channel', form);
}

function ruleForm(ctx, slot, channels) {
  const err = h('div', { class: 'field wide' });
  const name = h('input', { type: 'text', name: 'name', 'data-path': 'name', required: true, maxlength: 200, placeholder: 'payments failing' });
  const type = select(Object.keys(RULE_EXAMPLE).map((t) => [t, t]), { name: 'rule_type', 'data-path': 'rule_type' });
  const config = typedJson(type, RULE_EXAMPLE, 'rule_config');
  const dest = select([['', 'Every destination'], ...[...ctx.names.destinations.values()].map((d) => [d.id, d.name])], { name: 'destination_id', 'data-path': 'destination_id' });
  const cooldown = h('input', { type: 'number', name: 'cooldown_minutes', 'data-path': 'cooldown_minutes', min: 0, value: 60 });
  const boxes = channels.map((c) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: c.id }), ' ' + c.name));
  const chField = h('div', { 'data-path': 'channel_ids' }, boxes.length ? boxes : h('span', { class: 'muted' }, 'Create a channel first.'));
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create rule');
  const form = h('form', { class: 'form', id: 'new-rule', novalidate: true },
    field('Name', name), field('Type', type), field('Rule config (JSON)', config, null, true),
    field('Destination', dest), field('Cooldown (minutes)', cooldown), field('Channels', chField, null, true),
    h('div', { class: 'form-actions' }, submit, button('Cancel', () => slot.replaceChildren(), 'btn-ghost')), err);
  onSubmit(form, {
    submit, err,
    run: async () => {
      const body = {
        name: name.value.trim(), rule_type: type.value, rule_config: parseJson(config.value, 'rule_config', {}),
        channel_ids: [...chField.querySelectorAll('input:checked')].map((b) => b.value),
        cooldown_minutes: Number(cooldown.value || 60),
      };
      if (dest.value) body.destination_id = dest.value;
      await api('POST', '/v1/alert-rules', body);
      toast('Rule created');
      ctx.refresh();
    },
  });
  return card('New alert rule', form);
}

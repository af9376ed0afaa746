/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * status.c - the status page and its figures (see status.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "edgemap.h"
#include "gw/ban.h"
#include "gw/banpub.h"
#include "gw/banapi.h"
#include "gw/edge.h"
#include "gw/metrics.h"
#include "gw/server.h"
#include "gw/status.h"
#include "gw/tlsfast.h"
#include "gw/topkeys.h"
#include "gw/worker.h"

#define TOP_N 10

static const char page[] =
	"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<title>floodgate status</title>\n<style>\n"
	"body{font:14px system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}\n"
	"h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.2em 0 .4em}\n"
	"table{border-collapse:collapse;min-width:24em}td,th{padding:.2em .8em;border-bottom:1px "
	"solid #ddd;text-align:left}\n"
	"td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	".big{font-size:1.8em;font-weight:600}.box{display:inline-block;margin-right:2.5em}\n"
	"#err{color:#b00}\n</style></head><body>\n"
	"<h1>floodgate</h1><div>updated <span id=\"updates\">0</span> times, last at "
	"<span id=\"at\">-</span> <span id=\"err\"></span></div>\n"
	"<div style=\"margin-top:1em\">"
	"<div class=\"box\">requests/s<div class=\"big\" id=\"rps\">-</div></div>"
	"<div class=\"box\">rejections/s<div class=\"big\" id=\"rejps\">-</div></div>"
	"<div class=\"box\">XDP drops/s<div class=\"big\" id=\"dropps\">-</div></div>"
	"<div class=\"box\">XDP packets/s<div class=\"big\" id=\"pktps\">-</div></div>"
	"<div class=\"box\">active bans<div class=\"big\" id=\"nbans\">-</div></div></div>\n"
	"<h2>Rejections per second, by reason (L7)</h2><table id=\"rej\"><tr><th>reason</th>"
	"<th>/s</th><th>total</th></tr></table>\n"
	"<h2>XDP verdicts per second</h2><table id=\"xdp\"><tr><th>verdict</th><th>/s</th>"
	"<th>total</th></tr></table>\n"
	"<h2>Top banned sources</h2><table id=\"bans\"><tr><th>source</th><th>reason</th>"
	"<th>score</th><th>XDP hits</th><th>expires in</th></tr></table>\n"
	"<h2>Top keys by usage</h2><table id=\"keys\"><tr><th>key id</th><th>requests</th>"
	"</tr></table>\n"
	"<script>\n"
	"'use strict';let prev=null,updates=0;\n"
	"function rows(id,list){const t=document.getElementById(id);"
	"while(t.rows.length>1)t.deleteRow(1);for(const r of list){const tr=t.insertRow();"
	"for(const c of r){const td=tr.insertCell();td.textContent=c;"
	"if(typeof c==='number')td.className='n';}}}\n"
	"function rate(now,old,dt){return "
	"old===undefined?0:Math.max(0,Math.round((now-old)/dt));}\n"
	"function set(id,v){document.getElementById(id).textContent=v;}\n"
	"async function tick(){try{const r=await fetch('/status.json',{cache:'no-store'});"
	"const s=await r.json();const dt=prev?Math.max(0.001,(s.time_ms-prev.time_ms)/1000):1;"
	"const p=prev||s;\n"
	"set('rps',prev?rate(s.requests,p.requests,dt):'-');"
	"let rej=0,prej=0;const rr=[];for(const k in s.rejections){rej+=s.rejections[k];"
	"prej+=p.rejections[k]||0;rr.push([k,rate(s.rejections[k],p.rejections[k],dt),"
	"s.rejections[k]]);}\n"
	"set('rejps',prev?rate(rej,prej,dt):'-');rows('rej',rr.filter(x=>x[2]>0));\n"
	"const xr=[];if(s.xdp){for(const k in s.xdp)xr.push([k,rate(s.xdp[k],p.xdp?p.xdp[k]:"
	"undefined,dt),s.xdp[k]]);set('dropps',prev?rate(s.xdp.dropped,p.xdp.dropped,dt):'-');"
	"set('pktps',prev?rate(s.xdp_packets,p.xdp_packets,dt):'-');}else{set('dropps','off');"
	"set('pktps','off');}rows('xdp',xr);\n"
	"set('nbans',s.active_bans);rows('bans',s.bans.map(b=>[b.cidr+(b.edge?' (edge)':''),"
	"b.reason,b.score,b.hits,b.ttl_left_s+' s']));\n"
	"rows('keys',s.keys.map(k=>[k.id,k.count]));\n"
	"prev=s;updates++;set('updates',updates);set('at',new Date().toISOString());"
	"set('err','');}catch(e){set('err','(status.json: '+e+')');}}\n"
	"tick();setInterval(tick,1000);\n</script></body></html>\n";

const char *gw_status_page(size_t *len)
{
	*len = sizeof(page) - 1;
	return page;
}

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

char *gw_status_json(size_t *len)
{
	json_t *o = json_object(), *rej = json_object(), *bans = json_array(), *keys = json_array();
	struct edge_stat st[EDGE_STAT_MAX];
	gw_topkey_t top[TOP_N];
	gw_ban_stats_t bs;
	struct timespec ts;
	uint64_t requests = 0;
	gw_ban_t *v = NULL;
	size_t n = 0, nk;
	char *s;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (unsigned w = 0; w < gw_server.nworkers; w++) {
		gw_metrics_t *m = gw_server.workers[w]->metrics;

		for (size_t i = 0; i < GW_METRICS_SERIES; i++)
			if (__atomic_load_n(&m->series[i].key, __ATOMIC_ACQUIRE))
				requests += LOAD(m->series[i].count);
		requests += LOAD(m->overflow);
	}
	for (int p = 1; p < GW_PROBLEM_MAX; p++) {
		uint64_t sum = 0;

		for (unsigned w = 0; w < gw_server.nworkers; w++)
			sum += LOAD(gw_server.workers[w]->metrics->rejections[p]);
		json_object_set_new(rej, gw_problem_info((enum gw_problem)p)->slug,
				    json_integer((json_int_t)sum));
	}
	json_object_set_new(o, "time_ms",
			    json_integer((json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
	json_object_set_new(o, "requests", json_integer((json_int_t)requests));
	json_object_set_new(o, "rejections", rej);
	if (!gw_edge_stats(st)) {
		json_t *x = json_object();
		uint64_t all = 0;

		for (int id = 0; id < EDGE_STAT_MAX; id++) {
			json_object_set_new(x, fg_stat_name(id),
					    json_integer((json_int_t)st[id].packets));
			if (id < EDGE_STAT_VERDICT_END)
				all += st[id].packets;
		}
		json_object_set_new(o, "xdp", x);
		json_object_set_new(o, "xdp_packets", json_integer((json_int_t)all));
	} else {
		json_object_set_new(o, "xdp", json_null());
	}
	gw_ban_stats(&bs);
	json_object_set_new(o, "active_bans", json_integer((json_int_t)bs.active));
	if (!gw_ban_list(&v, &n))
		for (size_t i = 0; i < n && i < TOP_N; i++)
			json_array_append_new(bans, gw_banapi_json(&v[i]));
	free(v);
	json_object_set_new(o, "bans", bans);
	nk = gw_topkeys_top(top, TOP_N);
	for (size_t i = 0; i < nk; i++)
		json_array_append_new(keys, json_pack("{s:s, s:I}", "id", top[i].id, "count",
						      (json_int_t)top[i].count));
	json_object_set_new(o, "keys", keys);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s)
		*len = strlen(s);
	return s;
}

int gw_status_metrics_append(char **buf, size_t *len)
{
	gw_ban_stats_t b;
	gw_tlsfast_stats_t t;
	char *more = NULL, *p;
	int n, ret = gw_edge_metrics_append(buf, len);

	if (ret)
		return ret;
	gw_ban_stats(&b);
	gw_tlsfast_stats(&t);
	n = asprintf(&more,
		     "# HELP floodgate_bans_total Ban events, by what happened.\n"
		     "# TYPE floodgate_bans_total counter\n"
		     "floodgate_bans_total{event=\"decided\"} %llu\n"
		     "floodgate_bans_total{event=\"installed\"} %llu\n"
		     "floodgate_bans_total{event=\"lifted\"} %llu\n"
		     "floodgate_bans_total{event=\"expired\"} %llu\n"
		     "floodgate_bans_total{event=\"refused_allowlisted\"} %llu\n"
		     "floodgate_bans_total{event=\"edge_tightened\"} %llu\n"
		     "# HELP floodgate_bans_active Bans in force.\n"
		     "# TYPE floodgate_bans_active gauge\nfloodgate_bans_active %llu\n"
		     "# HELP floodgate_abuse_refused_total Requests refused at L7 by the abuse "
		     "layer: banned clients, suspects over their bucket.\n"
		     "# TYPE floodgate_abuse_refused_total counter\n"
		     "floodgate_abuse_refused_total{why=\"banned\"} %llu\n"
		     "floodgate_abuse_refused_total{why=\"suspect\"} %llu\n"
		     "# HELP floodgate_tls_fast_records_total TLS 1.3 connections whose records "
		     "floodgate protects itself (tlsfast.h), by event.\n"
		     "# TYPE floodgate_tls_fast_records_total counter\n"
		     "floodgate_tls_fast_records_total{event=\"reading_taken\"} %llu\n"
		     "floodgate_tls_fast_records_total{event=\"writing_taken\"} %llu\n"
		     "floodgate_tls_fast_records_total{event=\"writing_taken_by_key_update\"} "
		     "%llu\n"
		     "floodgate_tls_fast_records_total{event=\"left_to_openssl\"} %llu\n"
		     "floodgate_tls_fast_records_total{event=\"closed_on_error\"} %llu\n"
		     "floodgate_tls_fast_records_total{event=\"client_key_update\"} %llu\n",
		     (unsigned long long)b.decided, (unsigned long long)b.installed,
		     (unsigned long long)b.lifted, (unsigned long long)b.expired,
		     (unsigned long long)b.refused_allow, (unsigned long long)b.tightened,
		     (unsigned long long)b.active, (unsigned long long)b.l7_refused,
		     (unsigned long long)b.suspect_refused, (unsigned long long)t.rx_taken,
		     (unsigned long long)t.tx_taken, (unsigned long long)t.tx_key_update,
		     (unsigned long long)t.declined, (unsigned long long)t.failed,
		     (unsigned long long)t.key_updates);
	if (n < 0)
		return -ENOMEM;
	p = realloc(*buf, *len + (size_t)n + 1);
	if (!p) {
		free(more);
		return -ENOMEM;
	}
	memcpy(p + *len, more, (size_t)n + 1);
	*buf = p;
	*len += (size_t)n;
	free(more);
	return gw_banpub_metrics_append(buf, len); /* Redis mode only */
}

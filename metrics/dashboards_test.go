package metrics_test

// Tests of the Grafana dashboard (dashboards/peerscore.json) and the
// Prometheus alerting rules (alerts/peerscore-rules.yml) shipped with the
// package: their structure, and that every metric and label value their
// expressions name exists in a real scrape.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/peerscore/peerscore/ban"
	"github.com/peerscore/peerscore/internal/scoretest"
	"github.com/peerscore/peerscore/metrics"
)

const (
	dashboardFile = "dashboards/peerscore.json"
	rulesFile     = "alerts/peerscore-rules.yml"
	rulesTestFile = "alerts/peerscore-rules_test.yml"
)

// targetLabels are the labels Prometheus adds at scrape time, which no
// registry has.
var targetLabels = []string{"instance", "job"}

// dashboard is the part of Grafana's dashboard model the tests read.
type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(raw, &d))
	return d
}

// allPanels flattens rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// exprs returns every PromQL expression of the dashboard, by where it is.
func (d dashboard) exprs(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			out[fmt.Sprintf("panel %q target %s", p.Title, tg.RefID)] = tg.Expr
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil {
			var s string
			require.NoError(t, json.Unmarshal(v.Query, &s), "variable %s: query", v.Name)
			q.Query = s
		}
		out["variable "+v.Name] = q.Query
		out["variable "+v.Name+" definition"] = v.Definition
	}
	return out
}

// TestDashboardStructure: the dashboard imports as one: identified,
// every panel on the data source variable, with unique IDs, on the
// 24-column grid without overlapping, every target with an expression.
func TestDashboardStructure(t *testing.T) {
	d := readDashboard(t)
	require.Equal(t, "peerscore", d.Title)
	require.Equal(t, "peerscore", d.UID)
	require.GreaterOrEqual(t, d.SchemaVersion, 36, "the data source as an object needs Grafana 8.3 or later")

	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	require.Equal(t, []string{"datasource", "instance"}, vars)

	ids := map[int]bool{}
	type cell struct{ x, y int }
	taken := map[cell]string{}
	for _, p := range allPanels(d.Panels) {
		require.Falsef(t, ids[p.ID], "panel %q: id %d twice", p.Title, p.ID)
		ids[p.ID] = true
		require.NotEmptyf(t, p.Title, "panel %d", p.ID)
		require.Containsf(t, []string{"row", "timeseries", "heatmap", "stat"}, p.Type, "panel %q", p.Title)
		g := p.GridPos
		require.Truef(t, g.W > 0 && g.H > 0 && g.X >= 0 && g.X+g.W <= 24, "panel %q: gridPos %+v", p.Title, g)
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				require.Emptyf(t, taken[cell{x, y}], "panel %q overlaps %q at %d,%d", p.Title, taken[cell{x, y}], x, y)
				taken[cell{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			continue
		}
		require.Equalf(t, &datasource{Type: "prometheus", UID: "${datasource}"}, p.Datasource, "panel %q", p.Title)
		require.NotEmptyf(t, p.Targets, "panel %q", p.Title)
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			require.Falsef(t, refs[tg.RefID], "panel %q: refId %s twice", p.Title, tg.RefID)
			refs[tg.RefID] = true
			require.NotEmptyf(t, tg.Expr, "panel %q target %s", p.Title, tg.RefID)
		}
	}
}

// ruleFile is Prometheus' rule file format, as far as alerting rules go.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func readRules(t *testing.T) ruleFile {
	t.Helper()
	raw, err := os.ReadFile(rulesFile)
	require.NoError(t, err)
	var rf ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true) // a misspelt key is an error, not a silently ignored field
	require.NoError(t, dec.Decode(&rf))
	return rf
}

// TestAlertRulesStructure: one group of alerting rules, each named,
// with an expression, a duration Prometheus reads, a severity, a summary
// and a description.
func TestAlertRulesStructure(t *testing.T) {
	rf := readRules(t)
	require.Len(t, rf.Groups, 1)
	require.Equal(t, "peerscore", rf.Groups[0].Name)
	var names []string
	for _, r := range rf.Groups[0].Rules {
		require.Regexpf(t, `^Peerscore[A-Z][A-Za-z]+$`, r.Alert, "alert name")
		require.NotContainsf(t, names, r.Alert, "alert %s twice", r.Alert)
		names = append(names, r.Alert)
		require.NotEmptyf(t, strings.TrimSpace(r.Expr), "%s: expr", r.Alert)
		d, err := model.ParseDuration(r.For)
		require.NoErrorf(t, err, "%s: for", r.Alert)
		require.Greaterf(t, time.Duration(d), time.Duration(0), "%s: for", r.Alert)
		require.Containsf(t, []string{"warning", "critical"}, r.Labels["severity"], "%s: severity", r.Alert)
		require.NotEmptyf(t, r.Annotations["summary"], "%s: summary", r.Alert)
		require.NotEmptyf(t, r.Annotations["description"], "%s: description", r.Alert)
	}
	require.Equal(t, []string{
		"PeerscoreRouterMismatch", "PeerscoreManyPeersGraylisted", "PeerscoreInvalidMessageSurge",
		"PeerscoreDeliveryRecordsNearBound", "PeerscoreRetainedPeersEvicted",
	}, names)
}

// TestDashboardAndRulesMetricsExist runs a real scorer through traffic and
// penalties, scrapes a Collector of it (with a gater holding a ban), and
// requires every metric family, label and label value the dashboard and
// the rules name to be in the scrape; and every family the Collector
// exports to be on the dashboard.
func TestDashboardAndRulesMetricsExist(t *testing.T) {
	net := newColocated(t)
	synctest.Test(t, func(t *testing.T) {
		s := runScenario(t, net)
		g := ban.NewGater()
		g.Ban("D", time.Now().Add(time.Hour))
		_, reg := newRegistry(t, s, metrics.WithGater(g))
		sc := scoretest.Gather(t, reg)
		require.Positive(t, sc.Value(t, "peerscore_penalties_total", "reason", "invalid_message"), "the scenario charged invalid messages")

		exprs := readDashboard(t).exprs(t)
		onDashboard := map[string]bool{}
		for where, expr := range exprs {
			families, problems := checkExpr(sc, expr)
			require.Emptyf(t, problems, "dashboard %s: %s", where, expr)
			for _, f := range families {
				onDashboard[f] = true
			}
		}
		for _, r := range readRules(t).Groups[0].Rules {
			_, problems := checkExpr(sc, r.Expr)
			require.Emptyf(t, problems, "rule %s: %s", r.Alert, r.Expr)
		}
		for name := range sc {
			require.Truef(t, onDashboard[name], "%s is exported but not on the dashboard", name)
		}
	})
}

// TestCheckExpr: the checker behind TestDashboardAndRulesMetricsExist
// finds misspelt metrics, labels and values, and accepts what exists.
func TestCheckExpr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScorer(t)
		_, reg := newRegistry(t, s)
		sc := scoretest.Gather(t, reg)
		for expr, want := range map[string][]string{
			`peerscore_peers{band="below_graylist"} > ignoring(band) 0.25 * peerscore_peers_known`: nil,
			`histogram_quantile(0.5, sum by (le) (peerscore_score_bucket{instance=~"$instance"}))`: nil,
			`sum(peerscore_score_sum) / sum(peerscore_score_count)`:                                nil,
			`rate(peerscore_penalties_total{reason=~"invalid_.*"}[$__rate_interval])`:              nil,
			`label_values(peerscore_peers_known, instance)`:                                        nil,
			`peerscore_peer_known`:                                           {`no metric family peerscore_peer_known`},
			`peerscore_peers_known_bucket`:                                   {`no metric family peerscore_peers_known_bucket`},
			`peerscore_peers{band="below_graylst"}`:                          {`peerscore_peers has no series with band="below_graylst"`},
			`peerscore_peers{bnd="below_graylist"}`:                          {`peerscore_peers has no label bnd`},
			`peerscore_penalties_total{reason=~"invalid_messages?x"}`:        {`peerscore_penalties_total has no series with reason=~"invalid_messages?x"`},
			`sum by (bnd) (peerscore_peers)`:                                 {`grouping by bnd: no such label`},
			`sum by (le) (peerscore_peers)`:                                  {`grouping by le: no such label`},
			`peerscore_peers{band="below_graylist"`:                          {`peerscore_peers: unterminated selector`},
			`rate(peerscore_penalties_total{reason="invalid_message\"}[5m])`: {`peerscore_penalties_total: unterminated selector`},
		} {
			_, problems := checkExpr(sc, expr)
			require.Equalf(t, want, problems, "%s", expr)
		}
	})
}

// TestAlertRulesPromtool checks the rules and runs their unit tests
// (alerts/peerscore-rules_test.yml) with Prometheus' own promtool, when it
// is installed.
func TestAlertRulesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed; the rules' unit tests need it (apt install prometheus, or Prometheus' release archive)")
	}
	for _, args := range [][]string{{"check", "rules", rulesFile}, {"test", "rules", rulesTestFile}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		require.NoErrorf(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	}
}

// checkExpr finds the metric families a PromQL expression names, and what
// in it the scrape does not have: families, labels a selector or a
// grouping names, label values a selector matches. Labels Prometheus adds
// at scrape time (instance, job) are taken on trust. It is a tokenizer,
// not a parser: it reads identifiers, selectors and grouping clauses and
// skips the rest.
func checkExpr(sc scoretest.Scrape, expr string) (families []string, problems []string) {
	var grouping []string
	buckets := false
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			_, n, ok := readString(expr[i:])
			if !ok {
				return families, append(problems, "unterminated string")
			}
			i += n
		case isIdentStart(c):
			j := i + 1
			for j < len(expr) && isIdentChar(expr[j]) {
				j++
			}
			word := expr[i:j]
			i = j
			switch {
			case slices.Contains([]string{"by", "without", "on", "ignoring", "group_left", "group_right"}, word):
				labels, n := readLabelList(expr[i:])
				grouping = append(grouping, labels...)
				i += n
			case strings.HasPrefix(word, "peerscore_"):
				family, isBucket, ok := resolveFamily(sc, word)
				if !ok {
					problems = append(problems, "no metric family "+word)
					continue
				}
				buckets = buckets || isBucket
				families = append(families, family)
				matchers, n, ok := readSelector(expr[i:])
				if !ok {
					problems = append(problems, word+": unterminated selector")
					return families, problems
				}
				i += n
				problems = append(problems, checkMatchers(sc[family], matchers)...)
			}
		default:
			i++
		}
	}
	for _, l := range grouping {
		if !hasLabel(sc, families, l) && !(l == "le" && buckets) && !slices.Contains(targetLabels, l) {
			problems = append(problems, fmt.Sprintf("grouping by %s: no such label", l))
		}
	}
	return families, problems
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// resolveFamily finds the family a series name belongs to: itself, or a
// histogram's _bucket, _sum or _count series.
func resolveFamily(sc scoretest.Scrape, name string) (family string, bucket, ok bool) {
	if _, ok := sc[name]; ok {
		return name, false, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, cut := strings.CutSuffix(name, suffix)
		if mf, ok := sc[base]; cut && ok && mf.GetType() == dto.MetricType_HISTOGRAM {
			return base, suffix == "_bucket", true
		}
	}
	return "", false, false
}

type matcher struct{ label, op, value string }

// readSelector reads the {label op "value", ...} that may follow a metric
// name (after spaces), returning how much of s it took.
func readSelector(s string) ([]matcher, int, bool) {
	i := skipSpaces(s, 0)
	if i == len(s) || s[i] != '{' {
		return nil, 0, true
	}
	i++
	var out []matcher
	for {
		i = skipSpaces(s, i)
		if i < len(s) && s[i] == '}' {
			return out, i + 1, true
		}
		j := i
		for j < len(s) && isIdentChar(s[j]) {
			j++
		}
		m := matcher{label: s[i:j]}
		i = skipSpaces(s, j)
		for _, op := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(s[i:], op) {
				m.op = op
				break
			}
		}
		if m.label == "" || m.op == "" {
			return nil, 0, false
		}
		i = skipSpaces(s, i+len(m.op))
		value, n, ok := readString(s[i:])
		if !ok {
			return nil, 0, false
		}
		m.value = value
		out = append(out, m)
		i = skipSpaces(s, i+n)
		if i < len(s) && s[i] == ',' {
			i++
		}
	}
}

// readString reads the quoted string s starts with, unquoted.
func readString(s string) (string, int, bool) {
	if s == "" {
		return "", 0, false
	}
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && q != '`':
			i++
		case s[i] == q:
			if q == '`' {
				return s[1:i], i + 1, true
			}
			v, err := strconv.Unquote(`"` + s[1:i] + `"`)
			return v, i + 1, err == nil
		}
	}
	return "", 0, false
}

// readLabelList reads the (label, ...) of a grouping clause.
func readLabelList(s string) ([]string, int) {
	i := skipSpaces(s, 0)
	if i == len(s) || s[i] != '(' {
		return nil, 0
	}
	end := strings.IndexByte(s[i:], ')')
	if end < 0 {
		return nil, 0
	}
	var labels []string
	for _, l := range strings.Split(s[i+1:i+end], ",") {
		if l = strings.TrimSpace(l); l != "" {
			labels = append(labels, l)
		}
	}
	return labels, i + end + 1
}

func skipSpaces(s string, i int) int {
	for i < len(s) && strings.ContainsRune(" \t\n", rune(s[i])) {
		i++
	}
	return i
}

// checkMatchers checks a selector against a family's series.
func checkMatchers(mf *dto.MetricFamily, matchers []matcher) []string {
	var problems []string
	for _, m := range matchers {
		if slices.Contains(targetLabels, m.label) {
			continue
		}
		values := labelValues(mf, m.label)
		if values == nil {
			problems = append(problems, fmt.Sprintf("%s has no label %s", mf.GetName(), m.label))
			continue
		}
		var match func(string) bool
		switch m.op {
		case "=":
			match = func(v string) bool { return v == m.value }
		case "=~":
			re, err := regexp.Compile("^(?:" + m.value + ")$")
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: bad regexp %q", mf.GetName(), m.value))
				continue
			}
			match = re.MatchString
		default: // != and !~ exclude: the label is all they need
			continue
		}
		if !slices.ContainsFunc(values, match) {
			problems = append(problems, fmt.Sprintf("%s has no series with %s%s%q", mf.GetName(), m.label, m.op, m.value))
		}
	}
	return problems
}

// labelValues lists the values of label among mf's series, nil if no
// series has it.
func labelValues(mf *dto.MetricFamily, label string) []string {
	var out []string
	for _, m := range mf.GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label {
				out = append(out, lp.GetValue())
			}
		}
	}
	return out
}

func hasLabel(sc scoretest.Scrape, families []string, label string) bool {
	for _, f := range families {
		if labelValues(sc[f], label) != nil {
			return true
		}
	}
	return false
}

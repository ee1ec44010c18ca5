// Command params prints the peer score parameters peerscore derives for an
// Ethereum beacon node, as Go source to paste into a program or as JSON.
//
//	go run ./examples/params -validators 500000
//	go run ./examples/params -validators 1000000 -format json > p.json
//	go run ./examples/params -validators 16384 -phase0 -current-slot 10000   # Teku's test chain
//
// In Go, topics that share their parameters (the 64 attestation subnets,
// the 4 sync committee subnets) are written once. The JSON is peerscore's
// parameter format (peerscore.ParamsDocument), every topic under its own
// name: what scorehttp's /params serves and the attack lab's -params
// reads. Its summary, comments in Go, goes to standard error.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/preset/ethereum"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "params:", err)
		os.Exit(2)
	}
}

// run writes the parameters to out; with -format json, the summary that
// the Go source carries as comments goes to notes.
func run(args []string, out, notes io.Writer) error {
	fs := flag.NewFlagSet("params", flag.ContinueOnError)
	var (
		validators  = fs.Int("validators", 1_000_000, "active validators")
		slot        = fs.Duration("slot", 12*time.Second, "slot duration (SECONDS_PER_SLOT)")
		slotsEpoch  = fs.Int("slots-per-epoch", 32, "slots per epoch (SLOTS_PER_EPOCH)")
		currentSlot = fs.Uint64("current-slot", 10_000_000, "the chain's current slot; mesh-delivery penalties stay off for the first 160-512 slots (0 is genesis)")
		digest      = fs.String("fork-digest", "00000000", "fork digest the topics are registered under, in hex (comma-separated for several)")
		meshD       = fs.Int("d", 8, "gossipsub mesh degree D")
		meshWindow  = fs.Duration("mesh-window", 2*time.Second, "mesh message deliveries window")
		perIP       = fs.Int("peers-per-ip", 3, "peers allowed per IP address before P6 applies")
		phase0      = fs.Bool("phase0", false, "score the phase0 topics only, as Lighthouse and Teku do (no sync committee, no BLS changes)")
		format      = fs.String("format", "go", "output format: go or json")
		meshPenalty ethereum.MeshPenalty
	)
	fs.TextVar(&meshPenalty, "mesh-penalty", ethereum.MeshPenaltyFull, "P3/P3b strength: full (Teku, Lodestar), mild (Lighthouse) or off (Prysm)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	preset := ethereum.Preset{
		ActiveValidators:            *validators,
		SlotDuration:                *slot,
		SlotsPerEpoch:               *slotsEpoch,
		CurrentSlot:                 *currentSlot,
		MeshDegree:                  *meshD,
		MeshDeliveriesWindow:        *meshWindow,
		IPColocationFactorThreshold: *perIP,
		ExcludeSyncCommittee:        *phase0,
		ExcludeBLSToExecutionChange: *phase0,
		MeshPenalty:                 meshPenalty,
	}
	for _, s := range strings.Split(*digest, ",") {
		b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), "0x"))
		if err != nil || len(b) != 4 {
			return fmt.Errorf("-fork-digest %q: want 4 bytes in hex, e.g. 6a95a1a9", s)
		}
		preset.ForkDigests = append(preset.ForkDigests, [4]byte(b))
	}

	params, thresholds, err := preset.Derive()
	if err != nil {
		return err
	}
	_, budget, err := preset.Specs()
	if err != nil {
		return err
	}
	summary := []string{
		fmt.Sprintf("%d active validators, %v slots, %d slots per epoch, slot %d, D = %d, mesh penalty %v.",
			preset.ActiveValidators, *slot, *slotsEpoch, preset.CurrentSlot, *meshD, preset.MeshPenalty),
		fmt.Sprintf("%d committees and %.2f aggregates per slot; budget (max positive score) %.6g.",
			preset.CommitteesPerSlot(), preset.AggregatorsPerSlot(), budget.MaxPositiveScore),
	}

	switch *format {
	case "go":
		_, err = io.WriteString(out, goSource(summary, params, thresholds, groupTopics(params.Topics)))
	case "json":
		err = writeJSON(out, notes, summary, params, thresholds)
	default:
		err = fmt.Errorf("-format %q: want go or json", *format)
	}
	return err
}

// group is a set of topics with equal parameters and the same name up to a
// subnet number and fork digest.
type group struct {
	name   string // bare topic name without the subnet number: "beacon_attestation"
	topics []string
	params *peerscore.TopicParams
}

var (
	ethTopic  = regexp.MustCompile(`^/eth2/[0-9a-f]{8}/(.+)/ssz_snappy$`)
	subnetNum = regexp.MustCompile(`_[0-9]+$`)
)

func groupTopics(topics map[string]*peerscore.TopicParams) []*group {
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range topics {
			if !yield(name) {
				return
			}
		}
	})
	// Sort subnets numerically: beacon_attestation_2 before _10.
	slices.SortStableFunc(names, func(a, b string) int {
		ka, na := subnetKey(a)
		kb, nb := subnetKey(b)
		if c := strings.Compare(ka, kb); c != 0 {
			return c
		}
		return na - nb
	})
	var groups []*group
	for _, topic := range names {
		base := topic
		if m := ethTopic.FindStringSubmatch(topic); m != nil {
			base = m[1]
		}
		base = subnetNum.ReplaceAllString(base, "")
		tp := topics[topic]
		i := slices.IndexFunc(groups, func(g *group) bool { return g.name == base && *g.params == *tp })
		if i < 0 {
			groups = append(groups, &group{name: base, params: tp})
			i = len(groups) - 1
		}
		groups[i].topics = append(groups[i].topics, topic)
	}
	return groups
}

// subnetKey splits a topic into the part before a subnet number and the
// number (-1 without one).
func subnetKey(topic string) (string, int) {
	m := ethTopic.FindStringSubmatch(topic)
	if m == nil {
		return topic, -1
	}
	loc := subnetNum.FindStringIndex(m[1])
	if loc == nil {
		return topic, -1
	}
	n, _ := strconv.Atoi(m[1][loc[0]+1:])
	return strings.TrimSuffix(topic, m[1][loc[0]:]+"/ssz_snappy"), n
}

// goSource renders the parameters as Go statements.
func goSource(summary []string, p *peerscore.Params, t *peerscore.Thresholds, groups []*group) string {
	var b bytes.Buffer
	b.WriteString("// Derived by ethereum.Preset (github.com/peerscore/peerscore/preset/ethereum):\n")
	for _, line := range summary {
		b.WriteString("// " + line + "\n")
	}
	b.WriteString("\nthresholds := &peerscore.Thresholds{\n")
	writeGoFields(&b, reflect.ValueOf(t).Elem(), nil)
	b.WriteString("}\n")

	vars := make(map[*group]string)
	for _, g := range groups {
		v := goIdent(g.name)
		for n := 2; slices.Contains(mapValues(vars), v); n++ {
			v = goIdent(g.name) + strconv.Itoa(n)
		}
		vars[g] = v
		b.WriteString("\n")
		if len(g.topics) > 1 {
			fmt.Fprintf(&b, "// %s: shared by %d topics.\n", g.name, len(g.topics))
		}
		if g.params.MeshMessageDeliveriesWeight == 0 {
			b.WriteString("// No mesh-delivery penalty (P3, P3b) on this topic.\n")
		}
		fmt.Fprintf(&b, "%s := &peerscore.TopicParams{\n", v)
		writeGoFields(&b, reflect.ValueOf(g.params).Elem(), nil)
		b.WriteString("}\n")
	}

	b.WriteString("\nparams := &peerscore.Params{\n\tTopics: map[string]*peerscore.TopicParams{\n")
	var loops []string
	for _, g := range groups {
		singles, ranges := subnetRanges(g.topics)
		for _, topic := range singles {
			fmt.Fprintf(&b, "\t\t%q: %s,\n", topic, vars[g])
		}
		for _, r := range ranges {
			loops = append(loops, fmt.Sprintf("for i := range %d {\n\tparams.Topics[fmt.Sprintf(%q, i)] = %s\n}\n", r.n, r.format, vars[g]))
		}
	}
	b.WriteString("\t},\n")
	writeGoFields(&b, reflect.ValueOf(p).Elem(), map[string]string{
		"Topics":           "",
		"AppSpecificScore": "func(peer.ID) float64 { return 0 }, // replace with the application's own score",
	})
	b.WriteString("}\n")
	for _, loop := range loops {
		b.WriteString(loop)
	}
	return gofmt(b.String())
}

// gofmt formats Go statements as gofmt would, or returns them unchanged if
// they do not parse.
func gofmt(stmts string) string {
	const head, tail = "package p\n\nfunc _() {\n", "}\n"
	src, err := format.Source([]byte(head + stmts + tail))
	if err != nil {
		return stmts
	}
	body := strings.TrimSuffix(strings.TrimPrefix(string(src), head), tail)
	var out strings.Builder
	for line := range strings.Lines(body) {
		out.WriteString(strings.TrimPrefix(line, "\t"))
	}
	return out.String()
}

// subnetRange is the topics format with %d replaced by 0 … n−1.
type subnetRange struct {
	format string
	n      int
}

// subnetRanges splits topics into those numbered 0 … n−1 under a common
// format (subnets), which a loop can register, and the rest.
func subnetRanges(topics []string) (singles []string, ranges []subnetRange) {
	nums := make(map[string][]int)
	var formats []string
	for _, topic := range topics {
		key, n := subnetKey(topic)
		if n < 0 {
			singles = append(singles, topic)
			continue
		}
		format := key + "_%d/ssz_snappy"
		if _, ok := nums[format]; !ok {
			formats = append(formats, format)
		}
		nums[format] = append(nums[format], n)
	}
	for _, format := range formats {
		ns := nums[format]
		slices.Sort(ns)
		contiguous := len(ns) > 1
		for i, n := range ns {
			contiguous = contiguous && n == i
		}
		if contiguous {
			ranges = append(ranges, subnetRange{format, len(ns)})
			continue
		}
		for _, n := range ns {
			singles = append(singles, fmt.Sprintf(format, n))
		}
	}
	return singles, ranges
}

func mapValues(m map[*group]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// writeGoFields writes the non-zero fields of struct v as "Name: value,"
// lines (gofmt aligns them later). special replaces a field's value ("" skips
// the field).
func writeGoFields(b *bytes.Buffer, v reflect.Value, special map[string]string) {
	typ := v.Type()
	for i := range typ.NumField() {
		name := typ.Field(i).Name
		f := v.Field(i)
		value, ok := special[name]
		switch {
		case ok && value == "":
			continue
		case ok:
		case f.IsZero():
			continue
		default:
			value = goValue(f) + ","
		}
		fmt.Fprintf(b, "\t%s: %s\n", name, value)
	}
}

func goValue(f reflect.Value) string {
	if d, ok := f.Interface().(time.Duration); ok {
		return goDuration(d)
	}
	switch f.Kind() {
	case reflect.Float64:
		return strconv.FormatFloat(f.Float(), 'g', -1, 64)
	case reflect.Bool:
		return strconv.FormatBool(f.Bool())
	case reflect.Int:
		return strconv.FormatInt(f.Int(), 10)
	}
	return fmt.Sprintf("%#v", f.Interface())
}

// goDuration renders d as a Go expression in the largest whole unit.
func goDuration(d time.Duration) string {
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "time.Hour"}, {time.Minute, "time.Minute"}, {time.Second, "time.Second"}, {time.Millisecond, "time.Millisecond"}} {
		if d%u.unit == 0 {
			if d == u.unit {
				return u.name
			}
			return fmt.Sprintf("%d * %s", d/u.unit, u.name)
		}
	}
	return fmt.Sprintf("time.Duration(%d)", int64(d))
}

// goIdent turns a topic name into a Go identifier: beacon_block → beaconBlock.
func goIdent(name string) string {
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '_' || r == '-' || r == '/' })
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	id := strings.Join(parts, "")
	if id == "" || !(id[0] >= 'a' && id[0] <= 'z' || id[0] >= 'A' && id[0] <= 'Z') {
		id = "topic" + id
	}
	return id
}

// writeJSON writes the parameters in peerscore's parameter format
// (peerscore.ParamsDocument), which scorehttp's /params serves and the
// attack lab's -params reads. JSON has no comments, so the summary goes to
// notes, apart from the data.
func writeJSON(out, notes io.Writer, summary []string, p *peerscore.Params, t *peerscore.Thresholds) error {
	raw, err := json.MarshalIndent(peerscore.ParamsDocument{Params: p, Thresholds: t}, "", "  ")
	if err != nil {
		return err
	}
	if _, err := out.Write(append(raw, '\n')); err != nil {
		return err
	}
	for _, line := range summary {
		if _, err := fmt.Fprintln(notes, line); err != nil {
			return err
		}
	}
	return nil
}

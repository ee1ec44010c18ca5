package main

import (
	"bytes"
	"encoding/json"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/peerscore/peerscore"
	"github.com/peerscore/peerscore/preset/ethereum"
)

// TestJSONIsTheParamsDocument: -format json prints peerscore's parameter
// format, which reads back as exactly what the preset derives (but for
// AppSpecificScore, left to the application), every topic under its own
// name; the summary goes to notes.
func TestJSONIsTheParamsDocument(t *testing.T) {
	var out, notes bytes.Buffer
	require.NoError(t, run([]string{"-validators", "500000", "-format", "json"}, &out, &notes))

	var doc peerscore.ParamsDocument
	require.NoError(t, json.Unmarshal(out.Bytes(), &doc))
	preset := ethereum.Preset{ActiveValidators: 500_000, CurrentSlot: 10_000_000, ForkDigests: [][4]byte{{}}}
	params, thresholds, err := preset.Derive()
	require.NoError(t, err)
	params.AppSpecificScore = nil
	require.Equal(t, params, doc.Params)
	require.Equal(t, thresholds, doc.Thresholds)
	require.Greater(t, len(doc.Params.Topics), 64, "every attestation subnet on its own")

	doc.Params.AppSpecificScore = func(peer.ID) float64 { return 0 }
	require.NoError(t, doc.Params.Validate())
	require.Contains(t, notes.String(), "500000 active validators")
	require.NotContains(t, out.String(), "active validators", "only data on standard output")
}

// TestGoSource: the default format is Go statements that parse, declaring
// the thresholds and the parameters.
func TestGoSource(t *testing.T) {
	var out, notes bytes.Buffer
	require.NoError(t, run([]string{"-validators", "500000", "-phase0"}, &out, &notes))
	src := out.String()
	require.Contains(t, src, "thresholds := &peerscore.Thresholds{")
	require.Contains(t, src, "params := &peerscore.Params{")
	require.Contains(t, src, "// 500000 active validators")
	_, err := parser.ParseFile(token.NewFileSet(), "params.go", "package p\nfunc _() {\n"+src+"}\n", 0)
	require.NoError(t, err)
	require.Empty(t, notes.String())
}

func TestBadFlags(t *testing.T) {
	var out, notes bytes.Buffer
	err := run([]string{"-format", "yaml"}, &out, &notes)
	require.ErrorContains(t, err, `-format "yaml": want go or json`)
	err = run([]string{"-fork-digest", "xyz"}, &out, &notes)
	require.ErrorContains(t, err, `-fork-digest "xyz"`)
	require.Empty(t, strings.TrimSpace(out.String()))
}

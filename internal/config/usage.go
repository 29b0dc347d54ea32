package config

import "strings"

// Usage returns the settings as a markdown table (variable, flag, default,
// meaning) for the README. It is rendered from the list Load reads.
func Usage() string {
	var b strings.Builder
	b.WriteString("| Variable | Flag | Default | Meaning |\n")
	b.WriteString("| --- | --- | --- | --- |\n")
	for _, s := range settings {
		b.WriteString("| `" + s.env + "` | `-" + s.flag + "` | " + cell(s.usageDef) + " | " + cell(s.meaning) + " |\n")
	}
	return b.String()
}

// cell escapes what would break a markdown table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

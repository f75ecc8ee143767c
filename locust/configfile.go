package locust

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Config files, as Locust reads them: ~/.locust.conf, then ./locust.conf,
// then the file named by --config (or LOCUST_CONFIG), each overriding the
// one before; LOCUST_* variables override the files and the command line
// overrides everything. A line is "key = value" (or "key: value"), the
// key being a long flag name without dashes ("spawn-rate = 10"; "_" may
// stand for "-"); "#" and ";" start comments; "[section]" lines are
// ignored; booleans are true/false (yes/no, on/off, 1/0); lists are
// comma-separated, optionally in brackets ("tags = [a, b]"). The scenario's
// custom parameters are keys too. An unknown key is an error that
// suggests the nearest flag. Locust's pyproject.toml [tool.locust] table
// is not read: a golocust scenario has no Python project around it.
const (
	defaultConfigFile = "locust.conf"
	homeConfigFile    = ".locust.conf"
)

// confEntry is one key of a config file and where it was written.
type confEntry struct {
	key string
	// values holds one value, or the elements of a [a, b] list, each
	// given to the flag in turn (a repeatable flag such as --threshold
	// takes them all).
	values []string
	where  string // "path:line", for errors
}

// configFilePaths lists the files to read, lowest precedence first:
// the home file and ./locust.conf when they exist, then --config, which
// must exist.
func configFilePaths(explicit string, lookupEnv func(string) (string, bool)) []configPath {
	var out []configPath
	home, ok := lookupEnv("HOME")
	if !ok || home == "" {
		home, ok = lookupEnv("USERPROFILE")
	}
	if ok && home != "" {
		out = append(out, configPath{path: filepath.Join(home, homeConfigFile)})
	}
	out = append(out, configPath{path: defaultConfigFile})
	if explicit != "" {
		out = append(out, configPath{path: explicit, required: true})
	}
	return out
}

type configPath struct {
	path     string
	required bool
}

// readConfigFiles reads the files in order and returns the last value of
// each key (by long flag name). known tells whether a long name is a flag.
func readConfigFiles(paths []configPath, known func(string) bool, suggest func(string) string) (map[string]confEntry, error) {
	merged := map[string]confEntry{}
	seen := map[string]bool{}
	for _, p := range paths {
		abs, _ := filepath.Abs(p.path)
		if seen[abs] { // ~/.locust.conf read from the home directory
			continue
		}
		seen[abs] = true
		entries, err := readConfigFile(p.path)
		if errors.Is(err, fs.ErrNotExist) && !p.required {
			continue
		}
		if err != nil {
			if p.required {
				return nil, fmt.Errorf("--config %s: %w", p.path, err)
			}
			return nil, fmt.Errorf("config file %s: %w", p.path, err)
		}
		for _, e := range entries {
			switch {
			case e.key == "config":
				return nil, fmt.Errorf("%s: a config file cannot name another one: give --config on the command line", e.where)
			case e.key == "locustfile" || e.key == "f":
				// A locust.conf shared with a Python project names its
				// locustfile; this program is the locustfile.
				continue
			case !known(e.key):
				msg := fmt.Sprintf("%s: unknown key %q", e.where, e.key)
				if best := suggest(e.key); best != "" {
					msg += fmt.Sprintf(": did you mean %s?", strings.TrimLeft(best[strings.LastIndex(best, "/")+1:], "-"))
				}
				return nil, errors.New(msg + " (keys are the long flag names; -h lists them)")
			}
			merged[e.key] = e
		}
	}
	return merged, nil
}

// readConfigFile parses one file (see the package's config file format).
func readConfigFile(path string) ([]confEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []confEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		where := fmt.Sprintf("%s:%d", path, n)
		key, value, ok := cutKeyValue(line)
		if !ok {
			return nil, fmt.Errorf("%s: want key = value, got %q", where, line)
		}
		key = strings.ReplaceAll(strings.TrimLeft(strings.TrimSpace(key), "-"), "_", "-")
		out = append(out, confEntry{key: strings.ToLower(key), values: cleanConfigValue(value), where: where})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// cutKeyValue splits "key = value", "key: value" or "key value".
func cutKeyValue(line string) (key, value string, ok bool) {
	i := strings.IndexAny(line, "=: \t")
	if i <= 0 {
		return "", "", false
	}
	key, rest := line[:i], strings.TrimSpace(line[i:])
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimSpace(rest[1:])
	}
	return key, rest, true
}

// cleanConfigValue drops a trailing comment and surrounding quotes, and
// splits a list: `"a"` → [a], `[a, "b"]` → [a b].
func cleanConfigValue(v string) []string {
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	if len(v) >= 2 && v[0] == '[' && v[len(v)-1] == ']' {
		parts := strings.Split(v[1:len(v)-1], ",")
		out := parts[:0]
		for _, p := range parts {
			if p = unquote(strings.TrimSpace(p)); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	return []string{unquote(v)}
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}

// readConfigFiles reads the config files for parseCommandLine: the
// explicit one is --config from the command line, else LOCUST_CONFIG.
func (c *Config) readConfigFiles(byName map[string]flagDef, lookupEnv func(string) (string, bool)) (map[string]confEntry, error) {
	explicit := c.ConfigFile
	if explicit == "" {
		explicit, _ = lookupEnv("LOCUST_CONFIG")
	}
	known := func(key string) bool {
		d, ok := byName[key]
		return ok && d.long == key
	}
	suggest := func(key string) string { return closestFlag(key, byName) }
	return readConfigFiles(configFilePaths(explicit, lookupEnv), known, suggest)
}

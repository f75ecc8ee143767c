package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// What the binary serves (design decisions shared with the locust,
// transport and health code): the manifests and the Dockerfile must agree
// with these.
const (
	webPort    = 8089 // --web-port: web UI; the master's /healthz and /readyz
	masterPort = 5557 // --master-bind-port / --master-port: gRPC
	healthPort = 8090 // --health-port on workers (off by default in the binary)
	livePath   = "/healthz"
	readyPath  = "/readyz"
	nonRootUID = 65532 // distroless "nonroot"; Dockerfile USER and pods' runAsUser
	allIfaces  = "0.0.0.0"

	baseDir    = "k8s/base"
	overlayDir = "k8s/overlays/example"
)

// TestMain runs the tests in the deploy folder of the main module, whose
// files they check (the paths below are relative to it). The test lives in
// the e2e module so that the library's go.mod need not require the
// Kubernetes API modules.
func TestMain(m *testing.M) {
	if err := os.Chdir("../../deploy"); err != nil {
		fmt.Fprintln(os.Stderr, "deploy test:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// knownEnv lists the variables the manifests may set: LOCUST_<FLAG> for
// the binary's flags (DESIGN.md, issues 6 and 7). A misspelt name would be
// silently ignored by the binary, so it fails here instead. Add a flag here
// when the manifests start using it.
var knownEnv = setOf(
	// core and output
	"LOCUST_USERS", "LOCUST_SPAWN_RATE", "LOCUST_RUN_TIME", "LOCUST_HOST", "LOCUST_STOP_TIMEOUT",
	"LOCUST_TAGS", "LOCUST_EXCLUDE_TAGS", "LOCUST_RESET_STATS", "LOCUST_HEADLESS", "LOCUST_AUTOSTART",
	"LOCUST_CSV", "LOCUST_CSV_FULL_HISTORY", "LOCUST_HTML", "LOCUST_JSON", "LOCUST_PRINT_STATS",
	"LOCUST_ONLY_SUMMARY", "LOCUST_EXIT_CODE_ON_ERROR", "LOCUST_LOGLEVEL", "LOCUST_LOGFILE",
	// web UI
	"LOCUST_WEB_HOST", "LOCUST_WEB_PORT", "LOCUST_WEB_AUTH", "LOCUST_WEB_AUTH_FILE",
	"LOCUST_TLS_CERT", "LOCUST_TLS_KEY",
	// distributed mode
	"LOCUST_MASTER", "LOCUST_WORKER", "LOCUST_MASTER_HOST", "LOCUST_MASTER_PORT",
	"LOCUST_MASTER_BIND_HOST", "LOCUST_MASTER_BIND_PORT", "LOCUST_EXPECT_WORKERS",
	"LOCUST_EXPECT_WORKERS_MAX_WAIT", "LOCUST_WORKER_TOKEN",
	"LOCUST_CLUSTER_TLS_CERT", "LOCUST_CLUSTER_TLS_KEY", "LOCUST_CLUSTER_TLS_CA",
	// health
	"LOCUST_HEALTH_PORT",
)

// fileEnv are the variables whose value is a path to a file that must be
// mounted from the Secret.
var fileEnv = setOf(
	"LOCUST_WEB_AUTH_FILE", "LOCUST_TLS_CERT", "LOCUST_TLS_KEY",
	"LOCUST_CLUSTER_TLS_CERT", "LOCUST_CLUSTER_TLS_KEY", "LOCUST_CLUSTER_TLS_CA",
)

// secretEnv are the variables that carry a secret themselves: never a
// literal value in a manifest.
var secretEnv = setOf("LOCUST_WORKER_TOKEN", "LOCUST_WEB_AUTH")

var clusterTLSEnv = []string{"LOCUST_CLUSTER_TLS_CERT", "LOCUST_CLUSTER_TLS_KEY", "LOCUST_CLUSTER_TLS_CA"}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// ---------------------------------------------------------------------
// Strict decoding

// decodeStrict decodes one YAML document into v the way the API server
// decodes a strict request: duplicate keys, unknown fields and fields in
// the wrong case are errors, and so is a value of the wrong type.
func decodeStrict(doc []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return fmt.Errorf("yaml: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the document")
	}
	// encoding/json matches field names case-insensitively ("Image" would
	// pass for "image"); the API server does not. Decode again the
	// Kubernetes way to catch those.
	fresh := reflect.New(reflect.TypeOf(v).Elem()).Interface()
	strictErrs, err := kjson.UnmarshalStrict(j, fresh)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		return errors.Join(strictErrs...)
	}
	return nil
}

// newObject returns an empty typed object for an apiVersion and kind the
// manifests use.
func newObject(doc []byte) (any, error) {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(j, &tm); err != nil {
		return nil, fmt.Errorf("reading apiVersion and kind: %w", err)
	}
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	}
	return nil, fmt.Errorf("apiVersion %q kind %q: not a kind these manifests use (add it to newObject)", tm.APIVersion, tm.Kind)
}

func decodeObject(doc []byte) (any, error) {
	obj, err := newObject(doc)
	if err != nil {
		return nil, err
	}
	if err := decodeStrict(doc, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// splitDocs splits a YAML stream into its documents, leaving out empty
// ones (only comments or blank lines).
func splitDocs(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range docSeparator.Split(string(data), -1) {
		j, err := yaml.YAMLToJSON([]byte(d))
		if err == nil && string(j) == "null" {
			continue
		}
		docs = append(docs, []byte(d))
	}
	return docs
}

// decodeStream decodes every document of a YAML stream.
func decodeStream(t *testing.T, name string, data []byte) []any {
	t.Helper()
	var objs []any
	for i, doc := range splitDocs(data) {
		obj, err := decodeObject(doc)
		require.NoError(t, err, "%s, document %d", name, i+1)
		objs = append(objs, obj)
	}
	return objs
}

// kustomization is the part of kustomize's Kustomization these files use,
// decoded strictly too: extend it when a kustomization uses more.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources,omitempty"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
	SecretGenerator []struct {
		Name     string   `json:"name"`
		Behavior string   `json:"behavior,omitempty"`
		Type     string   `json:"type,omitempty"`
		Files    []string `json:"files,omitempty"`
	} `json:"secretGenerator,omitempty"`
	Patches []struct {
		Path string `json:"path"`
	} `json:"patches,omitempty"`
}

func readKustomization(t *testing.T, dir string) kustomization {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	require.NoError(t, err)
	var k kustomization
	require.NoError(t, decodeStrict(data, &k), "%s/kustomization.yaml", dir)
	assert.Equal(t, "kustomize.config.k8s.io/v1beta1", k.APIVersion, "%s/kustomization.yaml", dir)
	assert.Equal(t, "Kustomization", k.Kind, "%s/kustomization.yaml", dir)
	return k
}

// yamlFiles lists the .yaml and .yml files in dir, kustomization.yaml
// left out.
func yamlFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.Type().IsRegular() && (ext == ".yaml" || ext == ".yml") && e.Name() != "kustomization.yaml" {
			names = append(names, e.Name())
		}
	}
	return names
}

// ---------------------------------------------------------------------
// The cluster as the manifests describe it

type cluster struct {
	master, worker *appsv1.Deployment
	service        *corev1.Service
	hpa            *autoscalingv2.HorizontalPodAutoscaler
	secret         *corev1.Secret
}

const componentLabel = "app.kubernetes.io/component"

func newCluster(t *testing.T, objs []any) cluster {
	t.Helper()
	var c cluster
	one := func(what string, have bool) {
		t.Helper()
		require.False(t, have, "more than one %s", what)
	}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			switch o.Spec.Template.Labels[componentLabel] {
			case "master":
				one("master Deployment", c.master != nil)
				c.master = o
			case "worker":
				one("worker Deployment", c.worker != nil)
				c.worker = o
			default:
				t.Fatalf("Deployment %s: pod label %s is neither master nor worker", o.Name, componentLabel)
			}
		case *corev1.Service:
			one("Service", c.service != nil)
			c.service = o
		case *autoscalingv2.HorizontalPodAutoscaler:
			one("HorizontalPodAutoscaler", c.hpa != nil)
			c.hpa = o
		case *corev1.Secret:
			one("Secret", c.secret != nil)
			c.secret = o
		default:
			t.Fatalf("unexpected object %T", o)
		}
	}
	require.NotNil(t, c.master, "master Deployment")
	require.NotNil(t, c.worker, "worker Deployment")
	require.NotNil(t, c.service, "master Service")
	require.NotNil(t, c.hpa, "worker HorizontalPodAutoscaler")
	require.NotNil(t, c.secret, "Secret")
	return c
}

func loadBase(t *testing.T) cluster {
	t.Helper()
	k := readKustomization(t, baseDir)
	var objs []any
	for _, r := range k.Resources {
		data, err := os.ReadFile(filepath.Join(baseDir, r))
		require.NoError(t, err)
		objs = append(objs, decodeStream(t, r, data)...)
	}
	return newCluster(t, objs)
}

// theContainer returns the pod's only container, the golocust binary.
func theContainer(t *testing.T, d *appsv1.Deployment) *corev1.Container {
	t.Helper()
	require.Len(t, d.Spec.Template.Spec.Containers, 1, "Deployment %s: one container, the load-test binary", d.Name)
	require.Empty(t, d.Spec.Template.Spec.InitContainers, "Deployment %s", d.Name)
	return &d.Spec.Template.Spec.Containers[0]
}

func findEnv(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// literalEnv returns the literal value of an env variable that must be
// set.
func literalEnv(t *testing.T, c *corev1.Container, name string) string {
	t.Helper()
	e := findEnv(c, name)
	require.NotNil(t, e, "container %s: %s not set", c.Name, name)
	require.Nil(t, e.ValueFrom, "container %s: %s should be a literal value", c.Name, name)
	return e.Value
}

// containerPort resolves a port given by number or by name to one the
// container declares.
func containerPort(t *testing.T, c *corev1.Container, p intstr.IntOrString) int32 {
	t.Helper()
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort
		}
	}
	t.Fatalf("container %s declares no port %s", c.Name, p.String())
	return 0
}

func namedPort(t *testing.T, c *corev1.Container, name string) corev1.ContainerPort {
	t.Helper()
	for _, cp := range c.Ports {
		if cp.Name == name {
			return cp
		}
	}
	t.Fatalf("container %s declares no port named %q", c.Name, name)
	return corev1.ContainerPort{}
}

func servicePort(t *testing.T, s *corev1.Service, name string) corev1.ServicePort {
	t.Helper()
	for _, p := range s.Spec.Ports {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("Service %s has no port named %q", s.Name, name)
	return corev1.ServicePort{}
}

func secretKeys(s *corev1.Secret) map[string]bool {
	keys := map[string]bool{}
	for k := range s.Data {
		keys[k] = true
	}
	for k := range s.StringData {
		keys[k] = true
	}
	return keys
}

func selects(t *testing.T, sel *metav1.LabelSelector, set map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	require.NoError(t, err)
	require.False(t, s.Empty(), "an empty selector selects everything")
	return s.Matches(labels.Set(set))
}

// ---------------------------------------------------------------------
// The checks, run on the base and on the rendered example overlay

func checkCluster(t *testing.T, c cluster) {
	master, worker := theContainer(t, c.master), theContainer(t, c.worker)
	masterPod, workerPod := c.master.Spec.Template, c.worker.Spec.Template

	t.Run("labels and selectors", func(t *testing.T) {
		assert.True(t, selects(t, c.master.Spec.Selector, masterPod.Labels), "master selector must select its own pods")
		assert.False(t, selects(t, c.master.Spec.Selector, workerPod.Labels), "master selector must not select workers")
		assert.True(t, selects(t, c.worker.Spec.Selector, workerPod.Labels), "worker selector must select its own pods")
		assert.False(t, selects(t, c.worker.Spec.Selector, masterPod.Labels), "worker selector must not select the master")
		svcSel := &metav1.LabelSelector{MatchLabels: c.service.Spec.Selector}
		assert.True(t, selects(t, svcSel, masterPod.Labels), "Service must select the master pod")
		assert.False(t, selects(t, svcSel, workerPod.Labels), "Service must not select workers")
		for _, tsc := range workerPod.Spec.TopologySpreadConstraints {
			assert.True(t, selects(t, tsc.LabelSelector, workerPod.Labels), "topology spread must count the workers")
		}
	})

	t.Run("replicas", func(t *testing.T) {
		require.NotNil(t, c.master.Spec.Replicas)
		assert.EqualValues(t, 1, *c.master.Spec.Replicas, "exactly one master")
		assert.Equal(t, appsv1.RecreateDeploymentStrategyType, c.master.Spec.Strategy.Type,
			"a rolling update would run two masters at once")
		assert.Nil(t, c.worker.Spec.Replicas, "the autoscaler owns the worker count; a replicas field fights it on every apply")
	})

	t.Run("image", func(t *testing.T) {
		assert.NotEmpty(t, master.Image)
		assert.Equal(t, master.Image, worker.Image, "master and workers run the same binary")
		assert.Regexp(t, `(:[\w][\w.-]*|@sha256:[0-9a-f]{64})$`, master.Image, "pin a tag or digest")
		assert.NotRegexp(t, `:latest$`, master.Image, "pin a tag or digest, not latest")
	})

	t.Run("configured by env only", func(t *testing.T) {
		for _, ctr := range []*corev1.Container{master, worker} {
			assert.Empty(t, ctr.Command, "container %s: the image's entrypoint runs the binary", ctr.Name)
			assert.Empty(t, ctr.Args, "container %s: configure with LOCUST_* variables, not arguments", ctr.Name)
			assert.Empty(t, ctr.EnvFrom, "container %s: list each variable so this test can check it", ctr.Name)
			seen := map[string]bool{}
			for _, e := range ctr.Env {
				assert.True(t, knownEnv[e.Name], "container %s: %s is not a variable the binary reads", ctr.Name, e.Name)
				assert.False(t, seen[e.Name], "container %s: %s set twice", ctr.Name, e.Name)
				seen[e.Name] = true
			}
		}
	})

	t.Run("master listens where the Service sends traffic", func(t *testing.T) {
		assert.Equal(t, "true", literalEnv(t, master, "LOCUST_MASTER"))
		assert.Nil(t, findEnv(master, "LOCUST_WORKER"))
		assert.Equal(t, allIfaces, literalEnv(t, master, "LOCUST_WEB_HOST"), "the web UI must be reachable from outside the pod")
		assert.Equal(t, strconv.Itoa(webPort), literalEnv(t, master, "LOCUST_WEB_PORT"))
		assert.Equal(t, allIfaces, literalEnv(t, master, "LOCUST_MASTER_BIND_HOST"), "workers must reach gRPC from other pods")
		assert.Equal(t, strconv.Itoa(masterPort), literalEnv(t, master, "LOCUST_MASTER_BIND_PORT"))
		assert.EqualValues(t, webPort, namedPort(t, master, "web").ContainerPort)
		assert.EqualValues(t, masterPort, namedPort(t, master, "grpc").ContainerPort)

		web, grpc := servicePort(t, c.service, "web"), servicePort(t, c.service, "grpc")
		assert.EqualValues(t, webPort, containerPort(t, master, web.TargetPort), "Service web port must reach the web UI")
		assert.EqualValues(t, masterPort, containerPort(t, master, grpc.TargetPort), "Service gRPC port must reach --master-bind-port")
		for _, p := range c.service.Spec.Ports {
			containerPort(t, master, p.TargetPort) // no dangling port
			assert.Equal(t, corev1.ProtocolTCP, p.Protocol, "Service port %s", p.Name)
		}
		assert.True(t, c.service.Spec.PublishNotReadyAddresses,
			"a headless master is not ready until workers join, and they join through this Service")
	})

	t.Run("worker finds the master", func(t *testing.T) {
		assert.Equal(t, "true", literalEnv(t, worker, "LOCUST_WORKER"))
		assert.Nil(t, findEnv(worker, "LOCUST_MASTER"))
		host := literalEnv(t, worker, "LOCUST_MASTER_HOST")
		svc := c.service.Name
		ns := c.service.Namespace
		valid := []string{svc}
		if ns != "" {
			valid = append(valid, svc+"."+ns, svc+"."+ns+".svc", svc+"."+ns+".svc.cluster.local")
		}
		assert.Contains(t, valid, host, "LOCUST_MASTER_HOST must name the master Service")
		assert.Equal(t, c.worker.Namespace, c.service.Namespace, "a short Service name resolves only in its own namespace")
		grpc := servicePort(t, c.service, "grpc")
		assert.Equal(t, strconv.Itoa(int(grpc.Port)), literalEnv(t, worker, "LOCUST_MASTER_PORT"),
			"LOCUST_MASTER_PORT must be the Service's gRPC port")
		assert.Equal(t, literalEnv(t, master, "LOCUST_MASTER_BIND_PORT"), literalEnv(t, worker, "LOCUST_MASTER_PORT"))
		assert.EqualValues(t, masterPort, grpc.Port)
	})

	t.Run("probes", func(t *testing.T) {
		assert.Equal(t, strconv.Itoa(healthPort), literalEnv(t, worker, "LOCUST_HEALTH_PORT"))
		assert.EqualValues(t, healthPort, namedPort(t, worker, "health").ContainerPort)
		scheme := corev1.URISchemeHTTP
		if findEnv(master, "LOCUST_TLS_CERT") != nil {
			scheme = corev1.URISchemeHTTPS // the web UI serves TLS, and with it the probes
		}
		for _, tc := range []struct {
			ctr    *corev1.Container
			port   int32
			scheme corev1.URIScheme
		}{{master, webPort, scheme}, {worker, healthPort, corev1.URISchemeHTTP}} {
			for _, p := range []struct {
				kind  string
				probe *corev1.Probe
				path  string
			}{{"readiness", tc.ctr.ReadinessProbe, readyPath}, {"liveness", tc.ctr.LivenessProbe, livePath}} {
				require.NotNil(t, p.probe, "%s: %s probe", tc.ctr.Name, p.kind)
				require.NotNil(t, p.probe.HTTPGet, "%s: %s probe is an HTTP GET", tc.ctr.Name, p.kind)
				assert.Equal(t, p.path, p.probe.HTTPGet.Path, "%s: %s probe path", tc.ctr.Name, p.kind)
				assert.Equal(t, tc.port, containerPort(t, tc.ctr, p.probe.HTTPGet.Port), "%s: %s probe port", tc.ctr.Name, p.kind)
				if p.probe.HTTPGet.Scheme != "" {
					assert.Equal(t, tc.scheme, p.probe.HTTPGet.Scheme, "%s: %s probe scheme", tc.ctr.Name, p.kind)
				} else {
					assert.Equal(t, corev1.URISchemeHTTP, tc.scheme, "%s: %s probe needs scheme HTTPS", tc.ctr.Name, p.kind)
				}
				assert.Empty(t, p.probe.HTTPGet.HTTPHeaders, "%s: %s probe must not carry credentials", tc.ctr.Name, p.kind)
			}
		}
	})

	t.Run("worker token from the Secret", func(t *testing.T) {
		var refs []*corev1.SecretKeySelector
		for _, ctr := range []*corev1.Container{master, worker} {
			e := findEnv(ctr, "LOCUST_WORKER_TOKEN")
			require.NotNil(t, e, "%s: LOCUST_WORKER_TOKEN", ctr.Name)
			assert.Empty(t, e.Value, "%s: the token must not be written in the manifest", ctr.Name)
			require.NotNil(t, e.ValueFrom, "%s: LOCUST_WORKER_TOKEN", ctr.Name)
			ref := e.ValueFrom.SecretKeyRef
			require.NotNil(t, ref, "%s: LOCUST_WORKER_TOKEN comes from a Secret", ctr.Name)
			assert.Equal(t, c.secret.Name, ref.Name, "%s: LOCUST_WORKER_TOKEN Secret", ctr.Name)
			assert.True(t, secretKeys(c.secret)[ref.Key], "%s: Secret %s has no key %q", ctr.Name, c.secret.Name, ref.Key)
			assert.False(t, ref.Optional != nil && *ref.Optional, "%s: the token must not be optional", ctr.Name)
			refs = append(refs, ref)
		}
		assert.Equal(t, refs[0].Key, refs[1].Key, "master and workers must read the same token")
		for _, ctr := range []*corev1.Container{master, worker} {
			for _, e := range ctr.Env {
				if secretEnv[e.Name] {
					assert.Empty(t, e.Value, "%s: %s must come from a Secret", ctr.Name, e.Name)
				}
			}
		}
	})

	t.Run("secret files are mounted from the Secret", func(t *testing.T) {
		keys := secretKeys(c.secret)
		for _, d := range []*appsv1.Deployment{c.master, c.worker} {
			ctr := &d.Spec.Template.Spec.Containers[0]
			for _, e := range ctr.Env {
				if !fileEnv[e.Name] {
					continue
				}
				key, mode := mountedSecretKey(t, d, ctr, e.Value, c.secret.Name)
				assert.True(t, keys[key], "%s %s=%s: Secret %s has no key %q", d.Name, e.Name, e.Value, c.secret.Name, key)
				// Secret files belong to root, group fsGroup when set: user
				// 65532 reads them through the group or not at all.
				readable := mode&0o004 != 0 ||
					(mode&0o040 != 0 && d.Spec.Template.Spec.SecurityContext.FSGroup != nil)
				assert.True(t, readable, "%s %s: mode %#o is not readable by user %d", d.Name, e.Name, mode, nonRootUID)
			}
		}
		// mTLS needs both ends: all three files on both, or on neither.
		var set []bool
		for _, ctr := range []*corev1.Container{master, worker} {
			for _, n := range clusterTLSEnv {
				set = append(set, findEnv(ctr, n) != nil)
			}
		}
		assert.True(t, !slices.Contains(set, false) || !slices.Contains(set, true),
			"cluster TLS: %v must be set on master and workers alike", clusterTLSEnv)
	})

	t.Run("security", func(t *testing.T) {
		for _, d := range []*appsv1.Deployment{c.master, c.worker} {
			pod := d.Spec.Template.Spec
			require.NotNil(t, pod.SecurityContext, d.Name)
			sc := pod.SecurityContext
			assert.True(t, sc.RunAsNonRoot != nil && *sc.RunAsNonRoot, "%s: runAsNonRoot", d.Name)
			assert.True(t, sc.RunAsUser != nil && *sc.RunAsUser == nonRootUID, "%s: runAsUser %d, the image's user", d.Name, nonRootUID)
			assert.True(t, sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault, "%s: seccomp RuntimeDefault", d.Name)
			assert.True(t, pod.AutomountServiceAccountToken != nil && !*pod.AutomountServiceAccountToken,
				"%s: the binary does not talk to the API server", d.Name)
			assert.True(t, pod.EnableServiceLinks != nil && !*pod.EnableServiceLinks,
				"%s: service links would inject *_PORT variables next to LOCUST_*", d.Name)
			assert.False(t, pod.HostNetwork || pod.HostPID || pod.HostIPC, d.Name)
			ctr := pod.Containers[0]
			csc := ctr.SecurityContext
			require.NotNil(t, csc, d.Name)
			assert.True(t, csc.AllowPrivilegeEscalation != nil && !*csc.AllowPrivilegeEscalation, "%s: allowPrivilegeEscalation false", d.Name)
			assert.True(t, csc.ReadOnlyRootFilesystem != nil && *csc.ReadOnlyRootFilesystem, "%s: readOnlyRootFilesystem", d.Name)
			assert.False(t, csc.Privileged != nil && *csc.Privileged, "%s: privileged", d.Name)
			assert.True(t, csc.RunAsUser == nil || *csc.RunAsUser != 0, "%s: container runs as root", d.Name)
			require.NotNil(t, csc.Capabilities, d.Name)
			assert.Contains(t, csc.Capabilities.Drop, corev1.Capability("ALL"), d.Name)
			assert.Empty(t, csc.Capabilities.Add, d.Name)
			// The root filesystem is read-only: /tmp (os.TempDir, outputs)
			// must be a writable volume.
			assert.True(t, hasEmptyDirAt(pod, &ctr, "/tmp"), "%s: an emptyDir at /tmp", d.Name)
		}
	})

	t.Run("resources", func(t *testing.T) {
		for _, ctr := range []*corev1.Container{master, worker} {
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, okReq := ctr.Resources.Requests[r]
				lim, okLim := ctr.Resources.Limits[r]
				assert.True(t, okReq, "%s: %s request", ctr.Name, r)
				assert.True(t, okLim, "%s: %s limit", ctr.Name, r)
				if okReq && okLim {
					assert.LessOrEqual(t, req.Cmp(lim), 0, "%s: %s request %s above its limit %s", ctr.Name, r, req.String(), lim.String())
				}
			}
		}
	})

	t.Run("autoscaler", func(t *testing.T) {
		ref := c.hpa.Spec.ScaleTargetRef
		assert.Equal(t, "apps/v1", ref.APIVersion)
		assert.Equal(t, "Deployment", ref.Kind)
		assert.Equal(t, c.worker.Name, ref.Name, "the HorizontalPodAutoscaler must scale the workers")
		assert.NotEqual(t, c.master.Name, ref.Name, "never scale the master")
		require.NotNil(t, c.hpa.Spec.MinReplicas)
		assert.GreaterOrEqual(t, *c.hpa.Spec.MinReplicas, int32(1))
		assert.LessOrEqual(t, *c.hpa.Spec.MinReplicas, c.hpa.Spec.MaxReplicas)
		var cpu *autoscalingv2.MetricSpec
		for i, m := range c.hpa.Spec.Metrics {
			if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU {
				cpu = &c.hpa.Spec.Metrics[i]
			}
		}
		require.NotNil(t, cpu, "the autoscaler scales on CPU")
		assert.Equal(t, autoscalingv2.UtilizationMetricType, cpu.Resource.Target.Type)
		require.NotNil(t, cpu.Resource.Target.AverageUtilization)
		assert.True(t, *cpu.Resource.Target.AverageUtilization > 0 && *cpu.Resource.Target.AverageUtilization <= 100,
			"CPU target %d%% of the request", *cpu.Resource.Target.AverageUtilization)
		_, ok := worker.Resources.Requests[corev1.ResourceCPU]
		assert.True(t, ok, "CPU utilization is measured against the worker's CPU request")
	})

	t.Run("graceful shutdown fits in the grace period", func(t *testing.T) {
		stop := 0 * time.Second
		if e := findEnv(master, "LOCUST_STOP_TIMEOUT"); e != nil {
			var err error
			stop, err = time.ParseDuration(e.Value)
			require.NoError(t, err, "LOCUST_STOP_TIMEOUT")
		}
		for _, d := range []*appsv1.Deployment{c.master, c.worker} {
			grace := 30 * time.Second // Kubernetes' default
			if g := d.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
				grace = time.Duration(*g) * time.Second
			}
			assert.Greater(t, grace, stop+5*time.Second,
				"%s: SIGKILL would come before users stop (%s) and final stats are sent", d.Name, stop)
		}
	})
}

// mountedSecretKey finds the Secret key behind a file path in the
// container, and the file's mode.
func mountedSecretKey(t *testing.T, d *appsv1.Deployment, ctr *corev1.Container, file, secret string) (string, int32) {
	t.Helper()
	dir, base := path.Split(file)
	dir = strings.TrimSuffix(dir, "/")
	for _, m := range ctr.VolumeMounts {
		if m.MountPath != dir || m.SubPath != "" {
			continue
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			require.NotNil(t, v.Secret, "%s: %s is mounted from volume %s, which is not a Secret", d.Name, file, v.Name)
			assert.Equal(t, secret, v.Secret.SecretName, "%s: volume %s", d.Name, v.Name)
			assert.True(t, m.ReadOnly, "%s: mount %s read-only", d.Name, m.MountPath)
			mode := int32(0o644)
			if v.Secret.DefaultMode != nil {
				mode = *v.Secret.DefaultMode
			}
			if len(v.Secret.Items) == 0 {
				return base, mode
			}
			for _, it := range v.Secret.Items {
				if it.Path == base {
					if it.Mode != nil {
						mode = *it.Mode
					}
					return it.Key, mode
				}
			}
			t.Fatalf("%s: volume %s has no item with path %q", d.Name, v.Name, base)
		}
		t.Fatalf("%s: mount %s names no volume of the pod", d.Name, m.Name)
	}
	t.Fatalf("%s: no volume is mounted at %s for %s", d.Name, dir, file)
	return "", 0
}

func hasEmptyDirAt(pod corev1.PodSpec, ctr *corev1.Container, dir string) bool {
	for _, m := range ctr.VolumeMounts {
		if m.MountPath != dir || m.ReadOnly {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.EmptyDir != nil {
				return true
			}
		}
	}
	return false
}

// ---------------------------------------------------------------------
// Tests

func TestKustomizationListsEveryManifest(t *testing.T) {
	k := readKustomization(t, baseDir)
	assert.Empty(t, k.Namespace, "the base leaves the namespace to overlays")
	listed := map[string]bool{}
	for _, r := range k.Resources {
		assert.False(t, listed[r], "%s listed twice", r)
		listed[r] = true
		assert.FileExists(t, filepath.Join(baseDir, r), "listed in %s/kustomization.yaml", baseDir)
	}
	for _, f := range yamlFiles(t, baseDir) {
		assert.True(t, listed[f], "%s/%s is not listed in kustomization.yaml resources", baseDir, f)
	}

	o := readKustomization(t, overlayDir)
	for _, r := range o.Resources {
		assert.DirExists(t, filepath.Join(overlayDir, r), "overlay resource")
	}
	assert.Contains(t, o.Resources, "../../base")
	patches := map[string]bool{}
	for _, p := range o.Patches {
		patches[p.Path] = true
		assert.FileExists(t, filepath.Join(overlayDir, p.Path))
	}
	for _, f := range yamlFiles(t, overlayDir) {
		assert.True(t, patches[f], "%s/%s is not listed in the overlay's patches", overlayDir, f)
	}
	// The overlay's secret files are the user's: never in git.
	ignore, err := os.ReadFile(filepath.Join(overlayDir, ".gitignore"))
	require.NoError(t, err)
	for _, g := range o.SecretGenerator {
		for _, f := range g.Files {
			assert.True(t, strings.HasPrefix(f, "secrets/"), "secret file %s outside secrets/", f)
		}
	}
	assert.Contains(t, strings.Fields(string(ignore)), "secrets/")
}

func TestManifestsDecodeStrictly(t *testing.T) {
	for _, dir := range []string{baseDir, overlayDir} {
		for _, f := range yamlFiles(t, dir) {
			t.Run(path.Join(dir, f), func(t *testing.T) {
				data, err := os.ReadFile(filepath.Join(dir, f))
				require.NoError(t, err)
				objs := decodeStream(t, f, data)
				require.Len(t, objs, 1, "one object per file")
			})
		}
	}
}

// TestStrictDecoderRejects makes sure the decoder would catch the
// mistakes it is there for: each case breaks one real manifest.
func TestStrictDecoderRejects(t *testing.T) {
	read := func(f string) string {
		data, err := os.ReadFile(filepath.Join(baseDir, f))
		require.NoError(t, err)
		return string(data)
	}
	worker := read("worker-deployment.yaml")
	_, err := decodeObject([]byte(worker))
	require.NoError(t, err, "the unbroken manifest decodes")

	for _, tc := range []struct {
		name, file, old, new string
		want                 string // in the error
	}{
		{"misspelt field", "worker-deployment.yaml", "readinessProbe:", "readinesProbe:", "readinesProbe"},
		{"field in the wrong case", "worker-deployment.yaml", "containerPort:", "ContainerPort:", "ContainerPort"},
		{"field at the wrong level", "worker-deployment.yaml", "      automountServiceAccountToken: false", "      automountServiceAccountToken: false\n      image: x", "image"},
		{"duplicate key", "worker-deployment.yaml", "\nkind: Deployment\n", "\nkind: Deployment\nkind: Deployment\n", "kind"},
		{"wrong type", "worker-deployment.yaml", "runAsNonRoot: true", `runAsNonRoot: "yes"`, "bool"},
		{"misspelt Service field", "master-service.yaml", "  publishNotReadyAddresses: true", "  publishNotReadyAdresses: true", "publishNotReadyAdresses"},
		{"misspelt HPA field", "worker-hpa.yaml", "averageUtilization:", "averageUtilisation:", "averageUtilisation"},
		{"misspelt Secret field", "secret.yaml", "stringData:", "stringdata:", "stringdata"},
		{"unknown kind", "worker-hpa.yaml", "kind: HorizontalPodAutoscaler", "kind: HorizontalPodAutoScaler", "HorizontalPodAutoScaler"},
		{"old API version", "worker-hpa.yaml", "apiVersion: autoscaling/v2", "apiVersion: autoscaling/v1", "autoscaling/v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := read(tc.file)
			require.True(t, strings.Contains(src, tc.old), "%q is no longer in %s: update the case", tc.old, tc.file)
			_, err := decodeObject([]byte(strings.Replace(src, tc.old, tc.new, 1)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}

	t.Run("kustomization", func(t *testing.T) {
		var k kustomization
		err := decodeStrict([]byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresource:\n  - a.yaml\n"), &k)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "resource")
	})
}

func TestBaseWiring(t *testing.T) {
	c := loadBase(t)
	checkCluster(t, c)

	t.Run("placeholders only in the base Secret", func(t *testing.T) {
		assert.Empty(t, c.secret.Data, "use stringData placeholders in the base")
		require.NotEmpty(t, c.secret.StringData)
		for k, v := range c.secret.StringData {
			assert.Contains(t, v, "REPLACE_ME", "Secret key %s: the base must hold placeholders, never real material", k)
		}
	})
}

// TestExampleOverlayRenders renders the example overlay with kubectl's
// built-in kustomize, the way a user applies it, with secret files made up
// for the test, and checks the result like the base.
func TestExampleOverlayRenders(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not on PATH: rendering with kustomize skipped")
	}
	tmp := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(tmp, "k8s"), os.DirFS("k8s")))
	secrets := filepath.Join(tmp, overlayDir, "secrets")
	require.NoError(t, os.MkdirAll(secrets, 0o700))
	o := readKustomization(t, overlayDir)
	for _, g := range o.SecretGenerator {
		for _, f := range g.Files {
			require.NoError(t, os.WriteFile(filepath.Join(tmp, overlayDir, f), []byte("test-"+path.Base(f)), 0o600))
		}
	}

	render := func(dir string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		var stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, kubectl, "kustomize", dir)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "kubectl kustomize %s: %s", dir, stderr.String())
		return out
	}

	t.Run("base", func(t *testing.T) {
		checkCluster(t, newCluster(t, decodeStream(t, "rendered base", render(filepath.Join(tmp, baseDir)))))
	})

	out := render(filepath.Join(tmp, overlayDir))
	c := newCluster(t, decodeStream(t, "rendered overlay", out))
	checkCluster(t, c)

	t.Run("overlay settings applied", func(t *testing.T) {
		require.Len(t, o.Images, 1)
		want := o.Images[0].NewName + ":" + o.Images[0].NewTag
		for _, d := range []*appsv1.Deployment{c.master, c.worker} {
			assert.Equal(t, want, d.Spec.Template.Spec.Containers[0].Image, d.Name)
		}
		for _, m := range []metav1.Object{c.master, c.worker, c.service, c.hpa, c.secret} {
			assert.Equal(t, o.Namespace, m.GetNamespace(), m.GetName())
		}
		assert.NotContains(t, string(out), "REPLACE_ME", "the overlay replaces every placeholder")
		for _, f := range o.SecretGenerator[0].Files {
			assert.Equal(t, "test-"+path.Base(f), string(c.secret.Data[path.Base(f)]), "Secret key %s", path.Base(f))
		}
		assert.NotEmpty(t, literalEnv(t, &c.master.Spec.Template.Spec.Containers[0], "LOCUST_HOST"))
		assert.EqualValues(t, 4, *c.hpa.Spec.MinReplicas)
		assert.EqualValues(t, 4, c.hpa.Spec.MaxReplicas)
	})
}

// TestOverlayImageMatchesBase: kustomize's images entry only rewrites
// containers whose image name matches it.
func TestOverlayImageMatchesBase(t *testing.T) {
	c := loadBase(t)
	o := readKustomization(t, overlayDir)
	name := c.master.Spec.Template.Spec.Containers[0].Image
	name, _, _ = strings.Cut(name, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		name = name[:i]
	}
	require.NotEmpty(t, o.Images)
	for _, img := range o.Images {
		assert.Equal(t, name, img.Name, "overlay image entry must name the base image")
		assert.NotEmpty(t, img.NewName+img.NewTag+img.Digest)
	}
}

// dockerfile returns the Dockerfile's instructions, continuation lines
// joined, comments dropped.
func dockerfile(t *testing.T) [][2]string {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	require.NoError(t, err)
	var out [][2]string
	var cur string
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		cur += trimmed
		instr, args, _ := strings.Cut(cur, " ")
		out = append(out, [2]string{strings.ToUpper(instr), strings.TrimSpace(args)})
		cur = ""
	}
	require.Empty(t, cur, "Dockerfile ends inside a continued line")
	return out
}

func TestDockerfile(t *testing.T) {
	instrs := dockerfile(t)
	var froms, runs, copies, args, users, exposes, envs, entrypoints []string
	for _, in := range instrs {
		switch in[0] {
		case "FROM":
			froms = append(froms, in[1])
		case "RUN":
			runs = append(runs, in[1])
		case "COPY":
			copies = append(copies, in[1])
		case "ARG":
			args = append(args, in[1])
		case "USER":
			users = append(users, in[1])
		case "EXPOSE":
			exposes = append(exposes, strings.Fields(in[1])...)
		case "ENV":
			envs = append(envs, in[1])
		case "ENTRYPOINT":
			entrypoints = append(entrypoints, in[1])
		}
	}

	require.GreaterOrEqual(t, len(froms), 2, "multi-stage: a build stage and a runtime stage")
	assert.Regexp(t, `(^|\s)golang:\S+\s+(?i:as)\s+build$`, froms[0], "first stage builds with the Go toolchain, named build")
	final := froms[len(froms)-1]
	assert.Regexp(t, `^(gcr\.io/distroless/static(-debian\d+)?:nonroot(@sha256:[0-9a-f]{64})?|scratch)$`, final, "a minimal runtime image")

	assert.Contains(t, args, "MAIN=./examples/quickstart", "ARG MAIN with the quickstart as default")
	mains, err := fs.Glob(os.DirFS("../examples/quickstart"), "*.go")
	require.NoError(t, err)
	assert.NotEmpty(t, mains, "the default MAIN package exists")

	var build string
	for _, r := range runs {
		if strings.Contains(r, "go build") {
			build = r
		}
	}
	require.NotEmpty(t, build, "a RUN with go build")
	assert.Contains(t, build, "CGO_ENABLED=0", "a static binary")
	assert.Contains(t, build, "-trimpath")
	assert.Contains(t, build, `"$MAIN"`)
	out := regexp.MustCompile(`-o\s+(\S+)`).FindStringSubmatch(build)
	require.NotNil(t, out, "go build -o <binary>")
	binary := out[1]

	require.Len(t, entrypoints, 1)
	var entry []string
	require.NoError(t, json.Unmarshal([]byte(entrypoints[0]), &entry), "ENTRYPOINT in exec form, so signals reach the binary")
	require.Len(t, entry, 1, "ENTRYPOINT is the binary alone; flags come from LOCUST_* or the container's args")
	assert.Contains(t, copies, "--from=build "+binary+" "+entry[0], "the runtime stage copies the built binary to the entrypoint")

	require.NotEmpty(t, users)
	uid, _, _ := strings.Cut(users[len(users)-1], ":")
	assert.Equal(t, strconv.Itoa(nonRootUID), uid, "USER by number, so runAsNonRoot can verify it")

	assert.Contains(t, exposes, strconv.Itoa(webPort))
	assert.Contains(t, exposes, strconv.Itoa(masterPort))

	for _, e := range envs {
		for _, kv := range strings.Fields(e) {
			name, value, _ := strings.Cut(kv, "=")
			assert.True(t, knownEnv[name], "ENV %s is not a variable the binary reads", name)
			if name == "LOCUST_WEB_HOST" || name == "LOCUST_MASTER_BIND_HOST" {
				assert.Equal(t, allIfaces, value, name)
			}
		}
	}
}

// Package chart renders the Helm chart deploy/helm/switchboard in process,
// as `helm template` does (helm's own Go module), and decodes every object
// strictly into its Kubernetes type. The chart's checks (deploy/tools/helm)
// and the image's pod test (deploy/tools/image) use it.
package chart

import (
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"slices"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
)

// Paths of the chart and its production example.
var (
	Dir            = filepath.Join(repoRoot(), "deploy/helm/switchboard")
	ProductionFile = filepath.Join(repoRoot(), "deploy/helm/production-values.yaml")
)

// Namespace and Release are what every rendering is installed as.
const (
	Namespace = "contact-centre"
	Release   = "switchboard"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "../../..")
}

// Rendered is what helm template prints, decoded.
type Rendered struct {
	Notes      string
	Config     string // the ConfigMap's switchboard.hcl
	ConfigMap  *corev1.ConfigMap
	Deployment *appsv1.Deployment
	Service    *corev1.Service
	Objects    map[string]kruntime.Object // by kind; one of each
	// Values are the chart's defaults merged with the values rendered.
	Values map[string]any
}

// Load reads the chart.
func Load() (*chart.Chart, error) { return loader.Load(Dir) }

// ReadValues reads a values file ("" for none).
func ReadValues(file string) (map[string]any, error) {
	if file == "" {
		return map[string]any{}, nil
	}
	v, err := chartutil.ReadValuesFile(file)
	if err != nil {
		return nil, err
	}
	return v.AsMap(), nil
}

// Render is helm template, in process: the chart's defaults merged with
// vals, checked against values.schema.json, for a cluster of version kube.
func Render(vals map[string]any, kube string) (*Rendered, error) {
	ch, err := Load()
	if err != nil {
		return nil, err
	}
	kv, err := chartutil.ParseKubeVersion(kube)
	if err != nil {
		return nil, err
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun, install.ClientOnly, install.Replace = true, true, true
	install.ReleaseName, install.Namespace, install.KubeVersion = Release, Namespace, kv
	rel, err := install.Run(ch, vals)
	if err != nil {
		return nil, err
	}
	merged, err := chartutil.CoalesceValues(ch, vals)
	if err != nil {
		return nil, err
	}
	r := &Rendered{Notes: rel.Info.Notes, Objects: map[string]kruntime.Object{}, Values: merged.AsMap()}
	for name, doc := range releaseutil.SplitManifests(rel.Manifest) {
		obj, err := Decode(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		kind := obj.GetObjectKind().GroupVersionKind().Kind
		if r.Objects[kind] != nil {
			return nil, fmt.Errorf("two objects of kind %s", kind)
		}
		r.Objects[kind] = obj
		switch o := obj.(type) {
		case *appsv1.Deployment:
			r.Deployment = o
		case *corev1.Service:
			r.Service = o
		case *corev1.ConfigMap:
			r.ConfigMap, r.Config = o, o.Data["switchboard.hcl"]
		}
	}
	if r.Deployment == nil || r.Service == nil || r.Config == "" {
		return nil, fmt.Errorf("no Deployment, Service or config among %v", slices.Sorted(maps.Keys(r.Objects)))
	}
	return r, nil
}

var scheme = func() *kruntime.Scheme {
	s := kruntime.NewScheme()
	for _, add := range []func(*kruntime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme,
		autoscalingv2.AddToScheme, networkingv1.AddToScheme, monitoringv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// strict decodes YAML as the API server does with fieldValidation=Strict.
var strict = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Yaml: true, Strict: true})

// Decode decodes one object into its Kubernetes type; unknown fields,
// duplicate fields and unknown kinds are errors.
func Decode(doc string) (kruntime.Object, error) {
	obj, _, err := strict.Decode([]byte(doc), nil, nil)
	return obj, err
}

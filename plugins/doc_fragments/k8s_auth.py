# Copyright: (c) 2026, hymt.gpu_mesh contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options of every Kubernetes-facing module of hymt.gpu_mesh; the argument spec is
    # module_utils/k8s_common.py AUTH_ARG_SPEC. Names and environment variables follow kubernetes.core.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig itself as a dictionary.
      - Default is E(K8S_AUTH_KUBECONFIG), else the first file of E(KUBECONFIG), else
        C(~/.kube/config); inside a pod without a kubeconfig, the pod's service account.
      - In this collection's playbooks it comes from the inventory variable C(hymt_kubeconfig), through the module
        defaults of the action group C(hymt.gpu_mesh.k8s) (playbooks/vars/cluster_access.yml).
    type: raw
  context:
    description:
      - The kubeconfig context to use (default, the current context). Also E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the Kubernetes API server, overriding the kubeconfig. Also E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token for the API server. Also E(K8S_AUTH_API_KEY). Never logged.
    type: str
  username:
    description:
      - User name for basic authentication. Also E(K8S_AUTH_USERNAME).
    type: str
  password:
    description:
      - Password for basic authentication. Also E(K8S_AUTH_PASSWORD). Never logged.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. Default is the kubeconfig's setting,
        which verifies unless it says C(insecure-skip-tls-verify). Also E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - CA certificate file that signed the API server's certificate. Also E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Client certificate file for mutual TLS. Also E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Client key file for mutual TLS. Also E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  proxy:
    description:
      - HTTP proxy URL for the API server connection. Also E(K8S_AUTH_PROXY).
    type: str
  impersonate_user:
    description:
      - User to impersonate for the requests. Also E(K8S_AUTH_IMPERSONATE_USER).
    type: str
requirements:
  - kubernetes (Python library) on the control node
"""

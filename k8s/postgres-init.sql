-- One database per stateful tsn-cp service (compose mounts this into the postgres image's
-- init directory; the Kubernetes postgres StatefulSet runs it from a ConfigMap).
CREATE DATABASE uni_gateway OWNER tsn;
CREATE DATABASE preprocess OWNER tsn;
CREATE DATABASE southbound OWNER tsn;

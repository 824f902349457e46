//! The topology: which nodes a scenario has, the ids they are known by, and their names.
//!
//! Built once by the loader from `[[replicas]]` and `[saga]`, it is the only place that knows how
//! ids are laid out: every other module asks it for a role's id ([`Topology::replica`],
//! [`Topology::service`]) or an id's role ([`Topology::role`]), never computes one. The layout is
//! app, primary, cache, the replicas in file order, then the three saga services when the scenario
//! has `[saga]`; ids are dense, so per-node and per-link tables index by [`NodeId::index`].

/// A node of the simulated network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(u16);

impl NodeId {
    /// Its position among the topology's nodes (`0..Topology::len()`).
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The number the trace gives the node.
    pub fn number(self) -> u64 {
        u64::from(self.0)
    }
}

/// A saga service (`[saga]`): its role, and its index among the three.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ServiceKind {
    Inventory,
    Payment,
    Order,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 3] = [
        ServiceKind::Inventory,
        ServiceKind::Payment,
        ServiceKind::Order,
    ];

    /// The service's node name.
    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Inventory => "inventory",
            ServiceKind::Payment => "payment",
            ServiceKind::Order => "order",
        }
    }
}

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The application servers, where every client request starts.
    App,
    Primary,
    Cache,
    /// Replica `i` (0-based, file order).
    Replica(usize),
    Service(ServiceKind),
}

/// The nodes of one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// Every node's name, by id.
    names: Vec<String>,
    replicas: usize,
    services: bool,
}

const FIXED: [&str; 3] = ["app", "primary", "cache"];

impl Topology {
    /// The topology of a scenario with these replicas (file order) and, with `saga`, the three
    /// saga services.
    pub fn new(replica_names: &[String], saga: bool) -> Self {
        let mut names: Vec<String> = FIXED.iter().map(|n| n.to_string()).collect();
        names.extend(replica_names.iter().cloned());
        if saga {
            names.extend(ServiceKind::ALL.iter().map(|k| k.name().to_string()));
        }
        assert!(
            names.len() <= usize::from(u16::MAX),
            "node ids fit in 16 bits"
        );
        Self {
            names,
            replicas: replica_names.len(),
            services: saga,
        }
    }

    pub fn app(&self) -> NodeId {
        NodeId(0)
    }

    pub fn primary(&self) -> NodeId {
        NodeId(1)
    }

    pub fn cache(&self) -> NodeId {
        NodeId(2)
    }

    /// Replica `i` (0-based, file order).
    pub fn replica(&self, i: usize) -> NodeId {
        assert!(i < self.replicas, "replica {i} of {}", self.replicas);
        NodeId((FIXED.len() + i) as u16)
    }

    /// Every replica, in file order.
    pub fn replicas(&self) -> impl ExactSizeIterator<Item = NodeId> + Clone + use<> {
        let first = FIXED.len() as u16;
        (first..first + self.replicas as u16).map(NodeId)
    }

    pub fn replica_count(&self) -> usize {
        self.replicas
    }

    /// Whether the scenario has the saga services.
    pub fn has_services(&self) -> bool {
        self.services
    }

    /// A saga service's node (the scenario must have `[saga]`).
    pub fn service(&self, kind: ServiceKind) -> NodeId {
        assert!(self.services, "a scenario without [saga] has no services");
        NodeId((FIXED.len() + self.replicas + kind as usize) as u16)
    }

    /// What node `id` is.
    pub fn role(&self, id: NodeId) -> Role {
        let i = id.index();
        match i {
            0 => Role::App,
            1 => Role::Primary,
            2 => Role::Cache,
            _ if i < FIXED.len() + self.replicas => Role::Replica(i - FIXED.len()),
            _ => {
                let k = i - FIXED.len() - self.replicas;
                assert!(self.services && k < 3, "node {i} is not in the topology");
                Role::Service(ServiceKind::ALL[k])
            }
        }
    }

    /// How many nodes there are.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Every node, in id order.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = NodeId> + use<> {
        (0..self.names.len() as u16).map(NodeId)
    }

    pub fn name(&self, id: NodeId) -> &str {
        &self.names[id.index()]
    }

    /// Every node's name, in id order.
    pub fn names(&self) -> Vec<&str> {
        self.names.iter().map(String::as_str).collect()
    }

    /// The node with this name.
    pub fn find(&self, name: &str) -> Option<NodeId> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| NodeId(i as u16))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_roles_are_each_others_inverse() {
        let t = Topology::new(&["r1".into(), "r2".into()], true);
        assert_eq!(t.len(), 8);
        for id in t.nodes() {
            let back = match t.role(id) {
                Role::App => t.app(),
                Role::Primary => t.primary(),
                Role::Cache => t.cache(),
                Role::Replica(i) => t.replica(i),
                Role::Service(k) => t.service(k),
            };
            assert_eq!(back, id);
            assert_eq!(t.find(t.name(id)), Some(id));
        }
        assert_eq!(
            t.names(),
            [
                "app",
                "primary",
                "cache",
                "r1",
                "r2",
                "inventory",
                "payment",
                "order"
            ]
        );
        assert_eq!(
            t.replicas().map(|r| t.name(r)).collect::<Vec<_>>(),
            ["r1", "r2"]
        );
    }

    #[test]
    fn without_a_saga_there_are_no_services() {
        let t = Topology::new(&["r1".into()], false);
        assert_eq!(
            (t.len(), t.has_services(), t.find("payment")),
            (4, false, None)
        );
        assert_eq!(t.role(t.replica(0)), Role::Replica(0));
    }
}

"""The optional ALB front door (off by default): the seed architecture's existing web tier
behind an internet-facing Application Load Balancer with an ACM certificate, HTTPS only
(TLS 1.2+), invalid headers dropped, access logs, the regional WAF ACL, and a failover
record ``www.<domain>`` like the API's. The VPC and the web tier's target IPs are given in
``summon:frontDoor`` (nothing is looked up, so synthesis stays offline)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_elasticloadbalancingv2_targets as targets
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.compliance import acknowledge_nag
from infra.constructs.firewall import Firewall
from infra.names import Names
from infra.settings import DomainSettings, FrontDoorSettings


class FrontDoor(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: Names,
        settings: FrontDoorSettings,
        domain: DomainSettings,
        zone: route53.IHostedZone,
        log_bucket: s3.IBucket,
        firewall: Firewall,
    ) -> None:
        super().__init__(scope, id_)
        vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "Vpc",
            vpc_id=settings.vpc_id,
            vpc_cidr_block=settings.vpc_cidr,
            availability_zones=list(settings.availability_zones),
            public_subnet_ids=list(settings.public_subnet_ids),
        )
        security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Summon ALB: HTTPS in from the internet, out to the web tier only",
            allow_all_outbound=False,
        )
        security_group.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS")
        acknowledge_nag(
            security_group,
            EC23="the internet-facing load balancer of the public web tier: HTTPS (443) only, "
            "behind the regional WAF ACL",
        )
        security_group.add_egress_rule(
            ec2.Peer.ipv4(settings.vpc_cidr), ec2.Port.tcp(settings.target_port), "web tier"
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            load_balancer_name=f"{names.prefix}-web",
            vpc=vpc,
            internet_facing=True,
            vpc_subnets=ec2.SubnetSelection(subnets=vpc.public_subnets),
            security_group=security_group,
            drop_invalid_header_fields=True,
            deletion_protection=True,
            http2_enabled=True,
        )
        self.load_balancer.log_access_logs(log_bucket, prefix="alb")
        certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=domain.host("www"),
            validation=acm.CertificateValidation.from_dns(zone),
        )
        target_group = elbv2.ApplicationTargetGroup(
            self,
            "WebTier",
            vpc=vpc,
            port=settings.target_port,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            target_type=elbv2.TargetType.IP,
            targets=[targets.IpTarget(ip, port=settings.target_port) for ip in settings.target_ips],
            health_check=elbv2.HealthCheck(
                path=settings.health_check_path,
                protocol=elbv2.Protocol.HTTPS,
                interval=Duration.seconds(30),
            ),
        )
        self.load_balancer.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(certificate)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            default_target_groups=[target_group],
            open=False,
        )
        firewall.associate("LoadBalancer", self.load_balancer.load_balancer_arn)

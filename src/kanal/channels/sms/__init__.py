"""SMS gateways: SMSAPI, Twilio and a configurable generic JSON gateway, plus the parsing
and verification of their delivery-report callbacks (``reports``)."""

from kanal.channels.sms.base import SmsCapabilities, SmsGateway, SmsMessage
from kanal.channels.sms.generic import GenericAuth, GenericGateway, GenericGatewayConfig
from kanal.channels.sms.reports import DeliveryReport, ReportError
from kanal.channels.sms.smsapi import SmsapiGateway
from kanal.channels.sms.twilio import TwilioGateway

__all__ = [
    "DeliveryReport",
    "GenericAuth",
    "GenericGateway",
    "GenericGatewayConfig",
    "ReportError",
    "SmsCapabilities",
    "SmsGateway",
    "SmsMessage",
    "SmsapiGateway",
    "TwilioGateway",
]

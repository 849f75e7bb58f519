"""NACHA ACH entry detail and addenda layouts: the columns of each SEC code's fields and where
account numbers sit, masked in the raw records kept as evidence (see :mod:`.ach`)."""

from __future__ import annotations

from recoup.adapters.connectors.bankfiles.ach_fields import mask_account

# Standard entry detail layouts by SEC code, columns 40-78 (0-based slices): the identification
# and name fields and what else the SEC puts there.
_Slice = tuple[int, int]
_DEFAULT_LAYOUT: dict[str, _Slice] = {
    "individual_id": (39, 54),
    "individual_name": (54, 76),
    "discretionary_data": (76, 78),
}
_LAYOUTS: dict[str, dict[str, _Slice]] = {
    "CTX": {
        "individual_id": (39, 54),
        "number_of_addenda": (54, 58),
        "individual_name": (58, 74),
        "discretionary_data": (76, 78),
    },
    "ENR": {
        "individual_id": (39, 54),
        "number_of_addenda": (54, 58),
        "individual_name": (58, 74),
        "discretionary_data": (76, 78),
    },
    "TRX": {
        "individual_id": (39, 54),
        "number_of_addenda": (54, 58),
        "individual_name": (58, 74),
        "item_type_indicator": (76, 78),
    },
    "ATX": {
        "original_entry_trace_number": (39, 54),
        "number_of_addenda": (54, 58),
        "individual_name": (58, 74),
        "discretionary_data": (76, 78),
    },
    "ACK": {
        "original_entry_trace_number": (39, 54),
        "individual_name": (54, 76),
        "discretionary_data": (76, 78),
    },
    "CIE": {
        "individual_name": (39, 54),
        "individual_id": (54, 76),
        "discretionary_data": (76, 78),
    },
    "MTE": {
        "individual_name": (39, 54),
        "individual_id": (54, 76),
        "discretionary_data": (76, 78),
    },
    "ARC": {
        "check_serial_number": (39, 54),
        "individual_name": (54, 76),
        "discretionary_data": (76, 78),
    },
    "BOC": {
        "check_serial_number": (39, 54),
        "individual_name": (54, 76),
        "discretionary_data": (76, 78),
    },
    "RCK": {
        "check_serial_number": (39, 54),
        "individual_name": (54, 76),
        "discretionary_data": (76, 78),
    },
    "POP": {
        "check_serial_number": (39, 48),
        "terminal_city": (48, 52),
        "terminal_state": (52, 54),
        "individual_name": (54, 76),
        "discretionary_data": (76, 78),
    },
    "XCK": {
        "check_serial_number": (39, 54),
        "process_control_field": (54, 60),
        "item_research_number": (60, 76),
        "discretionary_data": (76, 78),
    },
    "TRC": {
        "check_serial_number": (39, 54),
        "process_control_field": (54, 60),
        "item_research_number": (60, 76),
        "item_type_indicator": (76, 78),
    },
    "SHR": {
        "card_expiration_date": (39, 43),
        "document_reference_number": (43, 54),
        "card_account_number": (54, 76),
        "card_transaction_type": (76, 78),
    },
    "POS": {
        "individual_id": (39, 54),
        "individual_name": (54, 76),
        "card_transaction_type": (76, 78),
    },
    "WEB": {"individual_id": (39, 54), "individual_name": (54, 76), "payment_type": (76, 78)},
    "TEL": {"individual_id": (39, 54), "individual_name": (54, 76), "payment_type": (76, 78)},
}
_MASKED_FIELDS = {"card_account_number"}

_ACCOUNT_COLUMNS = (12, 29)
_IAT_ACCOUNT_COLUMNS = (39, 74)
_CORRECTED_COLUMNS = (35, 64)
# Where a change code's corrected data holds an account number, inside the 29-character field.
_CORRECTED_ACCOUNT = {"C01": (0, 17), "C03": (12, 29), "C06": (0, 17), "C07": (9, 26)}


def _masked_at(text: str, start: int, end: int) -> str:
    if len(text) <= start:
        return text
    value = text[start:end]
    masked = mask_account(value)
    return text[:start] + masked.ljust(len(value)) + text[end:]

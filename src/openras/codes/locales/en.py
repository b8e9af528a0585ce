"""English error messages, worded after the Windows SDK's raserror.h / winerror.h texts."""

MESSAGES: dict[int, str] = {
    0: "The operation completed successfully.",
    5: "Access is denied.",
    4: "The system cannot open the file.",
    6: "The handle is invalid.",
    8: "Not enough memory resources are available to process this command.",
    50: "The request is not supported.",
    66: "The network resource type is not correct.",
    67: "The network name cannot be found.",
    71: (
        "No more connections can be made to this remote computer at this time because there are "
        "already as many connections as the computer can accept."
    ),
    112: "There is not enough space on the disk.",
    85: "The local device name is already in use.",
    86: "The specified network password is not correct.",
    87: "The parameter is incorrect.",
    124: "The system call level is not correct.",
    170: "The requested resource is in use.",
    234: "More data is available.",
    259: "No more data is available.",
    487: "Attempt to access invalid address.",
    600: "An operation is pending.",
    601: "An invalid port handle was detected.",
    602: "The specified port is already open.",
    603: "The caller's buffer is too small.",
    606: "The port is not connected.",
    617: "The connection is already being disconnected.",
    619: (
        "A connection to the remote computer could not be established, so the port used for this "
        "connection was closed."
    ),
    621: "The system could not open the phone book file.",
    622: "The system could not load the phone book file.",
    623: "The system could not find the phone book entry for this connection.",
    624: "The system could not update the phone book file.",
    625: "The system found invalid information in the phone book file.",
    628: "The connection was terminated by the remote computer before it could be completed.",
    629: "The connection was closed by the remote computer.",
    630: "The modem (or other connecting device) was disconnected due to hardware failure.",
    631: "The user disconnected the modem (or other connecting device).",
    632: "An incorrect structure size was detected.",
    633: "The modem (or other connecting device) is already in use or is not configured properly.",
    635: "An unknown error occurred.",
    638: "The remote server is not responding in a timely fashion.",
    645: "An internal authentication error occurred.",
    646: "The account is not permitted to log on at this time of day.",
    647: "The account is disabled.",
    648: "The password for this account has expired.",
    649: "The account does not have permission to dial in.",
    651: "The modem (or other connecting device) has reported an error.",
    668: "The connection was terminated.",
    676: "The phone line is busy.",
    678: "There was no answer.",
    679: "The system could not detect the carrier.",
    680: "There was no dial tone.",
    691: (
        "The remote connection was denied because the user name and password combination you "
        "provided is not recognized, or the selected authentication protocol is not permitted on "
        "the remote access server."
    ),
    703: (
        "The connection needs information from you, but the application does not allow user "
        "interaction."
    ),
    704: "The callback number is invalid.",
    711: "The Remote Access Connection Manager service could not start.",
    718: (
        "The connection was terminated because the remote computer did not respond in a timely "
        "manner."
    ),
    720: (
        "A connection to the remote computer could not be established. No PPP control protocols "
        "are configured."
    ),
    721: "The remote computer did not respond.",
    730: "The remote computer has not finished the projection of the network protocols.",
    731: "The protocol is not configured.",
    732: "Your computer and the remote computer could not agree on PPP control protocols.",
    733: (
        "A connection to the remote computer could not be completed: the remote computer rejected "
        "a required PPP control protocol."
    ),
    734: "The PPP link control protocol was terminated.",
    736: (
        "The PPP control protocol for this network protocol was terminated by the remote computer."
    ),
    737: "Loopback was detected: the line echoes what this computer sends.",
    738: "The server did not assign an address.",
    753: (
        "The connection could not be disconnected because it was created by the multi-protocol "
        "router."
    ),
    756: "This connection is already being dialed.",
    780: "An attempted function is not valid for this connection.",
    777: (
        "The connection attempt failed because the modem (or other connecting device) on the "
        "remote computer is out of order."
    ),
    800: "The remote connection was not made because the attempted VPN tunnels failed.",
    807: "The network connection between your computer and the VPN server was interrupted.",
    808: (
        "The network connection between your computer and the VPN server could not be established "
        "because the remote server refused the connection."
    ),
    809: (
        "The network connection between your computer and the VPN server could not be established "
        "because the remote server is not responding."
    ),
    810: (
        "A network connection between your computer and the VPN server was started, but the VPN "
        "connection was not completed. This is typically caused by the use of an incorrect or "
        "expired certificate for authentication between the client and the server."
    ),
    812: (
        "The connection was prevented because of a policy configured on your remote access server."
    ),
    829: (
        "The connection was terminated because the link to the remote computer failed or stopped "
        "responding."
    ),
    857: (
        "Authentication failed because the certificate or host key that the client uses to "
        "authenticate the server is not valid or not trusted."
    ),
    864: (
        "Authentication failed because nothing that validates the server's certificate or host "
        "key was found: the trusted store (known-hosts file) is missing."
    ),
    868: (
        "The remote connection was not made because the name of the remote access server did not "
        "resolve."
    ),
    1200: "The specified device name is invalid.",
    1201: "The device is not currently connected but it is a remembered connection.",
    1202: "The local device name has a remembered connection to another network resource.",
    1203: (
        "The network path was either typed incorrectly, does not exist, or the network provider is "
        "not currently available."
    ),
    1204: "The specified network provider name is invalid.",
    1205: "Unable to open the network connection profile.",
    1206: "The network connection profile is corrupted.",
    1207: "Cannot enumerate a noncontainer.",
    1208: "An extended error has occurred.",
    1219: (
        "Multiple connections to a server or shared resource by the same user, using more than one "
        "user name, are not allowed."
    ),
    1222: "The network is not present or not started.",
    1223: "The operation was canceled by the user.",
    1237: "The operation could not be completed. A retry should be performed.",
    1326: "The user name or password is incorrect.",
    1816: "Not enough quota is available to process this command.",
    2202: "The specified username is invalid.",
    2250: "This network connection does not exist.",
    2401: "There are open files on the connection.",
    2404: "The device is being accessed by an active process.",
    13801: "IKE authentication credentials are unacceptable.",
    13805: "Negotiation timed out.",
    13816: "Unknown error occurred.",
    13868: "Policy match error.",
}
